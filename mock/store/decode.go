package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/contactbridge/contactbridge/internal/jsonguard"
)

// stateTables are the tables a state must name (the HighLevel ones; the
// Marketing 360 ones may be left out).
var stateTables = []string{"locations", "contacts", "tasks", "notes", "appointments"}

// DecodeState reads a state as GET /__admin/state writes it, one record at a
// time: unlike decoding the whole document at once, it never holds the
// encoded state in memory, which matters for large states. A state that
// lacks a HighLevel table, a value of the wrong type or a record without
// its id (or a contact without its location or dateAdded, a record without
// its contact), or a key naming a field in another case than the field's,
// is an *InvalidError naming it; malformed JSON is another error.
func DecodeState(r io.Reader) (State, error) {
	var st State
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return st, err
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return st, fmt.Errorf("store: decode state: %w", err)
		}
		key, _ := tok.(string)
		seen[key] = true
		switch key {
		case "locations":
			err = decodeArray(dec, &st.Locations)
		case "contacts":
			err = decodeArray(dec, &st.Contacts)
		case "tasks":
			err = decodeArray(dec, &st.Tasks)
		case "notes":
			err = decodeArray(dec, &st.Notes)
		case "appointments":
			err = decodeArray(dec, &st.Appointments)
		default:
			// Other tables (and future ones) decode as a whole.
			err = decodeOther(dec, &st, key)
		}
		var typeErr *json.UnmarshalTypeError
		var keyErr *jsonguard.KeyError
		switch {
		case errors.As(err, &keyErr):
			return st, &InvalidError{Field: key + "." + keyErr.Key, Reason: "is not a field (fields are named by their exact case: " + keyErr.Field + ")"}
		case errors.As(err, &typeErr):
			return st, &InvalidError{Field: key + fieldOf(typeErr), Reason: "must be " + typeErr.Type.String() + ", not " + typeErr.Value}
		case err != nil:
			return st, fmt.Errorf("store: decode state: %s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return st, err
	}
	for _, table := range stateTables {
		if !seen[table] {
			return st, &InvalidError{Field: table, Reason: "is required (an empty array for none)"}
		}
	}
	return st, checkRequired(&st)
}

func fieldOf(e *json.UnmarshalTypeError) string {
	if e.Field == "" {
		return ""
	}
	return "." + e.Field
}

// checkRequired refuses the records that lack what identifies them.
func checkRequired(st *State) error {
	for i, l := range st.Locations {
		if l.ID == "" {
			return missingField("locations", i, "id")
		}
	}
	for i, c := range st.Contacts {
		switch {
		case c.ID == "":
			return missingField("contacts", i, "id")
		case c.LocationID == "":
			return missingField("contacts", i, "locationId")
		case c.DateAdded.IsZero():
			return missingField("contacts", i, "dateAdded")
		}
	}
	if err := checkRecords("tasks", st.Tasks); err != nil {
		return err
	}
	if err := checkRecords("notes", st.Notes); err != nil {
		return err
	}
	return checkRecords("appointments", st.Appointments)
}

// checkRecords refuses HighLevel records without an id or a contact.
func checkRecords[T any, P hlRecord[T]](table string, records []T) error {
	for i := range records {
		switch id, contact := P(&records[i]).key(); {
		case id == "":
			return missingField(table, i, "id")
		case contact == "":
			return missingField(table, i, "contactId")
		}
	}
	return nil
}

func missingField(table string, i int, field string) error {
	return &InvalidError{Field: fmt.Sprintf("%s[%d].%s", table, i, field), Reason: "is required"}
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("store: decode state: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("store: decode state: want %q, got %v", want, tok)
	}
	return nil
}

// decodeArray appends the elements of a JSON array (or nothing for null) to *out.
func decodeArray[T any](dec *json.Decoder, out *[]T) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		return nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fmt.Errorf("want an array, got %v", tok)
	}
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		var v T
		if err := jsonguard.Unmarshal(raw, &v); err != nil {
			return err
		}
		*out = append(*out, v)
	}
	_, err = dec.Token() // ]
	return err
}

// decodeOther decodes one more field of the state through State's own JSON
// mapping, so every table State declares is read.
func decodeOther(dec *json.Decoder, st *State, key string) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return err
	}
	field, err := json.Marshal(map[string]json.RawMessage{key: raw})
	if err != nil {
		return err
	}
	return jsonguard.Unmarshal(field, st)
}
