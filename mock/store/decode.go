package store

import (
	"encoding/json"
	"fmt"
	"io"
)

// DecodeState reads a state as GET /__admin/state writes it, one record at a
// time: unlike decoding the whole document at once, it never holds the
// encoded state in memory, which matters for large states.
func DecodeState(r io.Reader) (State, error) {
	var st State
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return st, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return st, fmt.Errorf("store: decode state: %w", err)
		}
		key, _ := tok.(string)
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
		if err != nil {
			return st, fmt.Errorf("store: decode state: %s: %w", key, err)
		}
	}
	return st, expectDelim(dec, '}')
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
		var v T
		if err := dec.Decode(&v); err != nil {
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
	return json.Unmarshal(field, st)
}
