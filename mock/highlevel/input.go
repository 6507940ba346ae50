package highlevel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/mail"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// opt is a string field of a patch: absent, null, or a value.
type opt struct {
	Set, Null bool
	V         string
}

func (o *opt) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(b, []byte("null")) {
		o.Null, o.V = true, ""
		return nil
	}
	// encoding/json hands over valid JSON: a string without escapes, in
	// valid UTF-8, is its bytes, which a second json.Unmarshal (a scan and a
	// decoder of its own for each field) would only copy.
	if n := len(b); n >= 2 && b[0] == '"' && bytes.IndexByte(b[1:n-1], '\\') < 0 && utf8.Valid(b[1:n-1]) {
		o.V = string(b[1 : n-1])
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// to stores the value in *dst when the field was sent.
func (o opt) to(dst *string) {
	if o.Set {
		*dst = strings.TrimSpace(o.V)
	}
}

// customFieldInput is one custom field of a write, in any of the vendor's
// variants: the field by id, by key, or by both (naming the same field), and
// its value as field_value (the vendor's writes) or value (its answers, so a
// contact read can be written back). A null value clears the field.
type customFieldInput struct {
	ID         string          `json:"id"`
	Key        string          `json:"key"`
	FieldValue json.RawMessage `json:"field_value"`
	Value      json.RawMessage `json:"value"`
}

// contactInput is the body of create, update and upsert.
type contactInput struct {
	LocationID         string                      `json:"locationId"`
	FirstName          opt                         `json:"firstName"`
	LastName           opt                         `json:"lastName"`
	Name               opt                         `json:"name"`
	Email              opt                         `json:"email"`
	Phone              opt                         `json:"phone"`
	Address1           opt                         `json:"address1"`
	City               opt                         `json:"city"`
	State              opt                         `json:"state"`
	PostalCode         opt                         `json:"postalCode"`
	Website            opt                         `json:"website"`
	Timezone           opt                         `json:"timezone"`
	Source             opt                         `json:"source"`
	Country            opt                         `json:"country"`
	AssignedTo         opt                         `json:"assignedTo"`
	BusinessID         opt                         `json:"businessId"`
	CompanyName        opt                         `json:"companyName"`
	Gender             opt                         `json:"gender"`
	DateOfBirth        opt                         `json:"dateOfBirth"`
	DND                *bool                       `json:"dnd"`
	DNDSettings        map[string]store.DNDSetting `json:"dndSettings"`
	InboundDNDSettings map[string]store.DNDSetting `json:"inboundDndSettings"`
	Tags               *[]string                   `json:"tags"`
	CustomFields       []customFieldInput          `json:"customFields"`

	CreateNewIfDuplicateAllowed bool `json:"createNewIfDuplicateAllowed"`
}

// contactInputFields are the JSON names of contactInput's fields, folded
// as encoding/json compares a key with them (see fromValue).
var contactInputFields = func() map[string]bool {
	t := reflect.TypeFor[contactInput]()
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		names[strings.ToLower(name)] = true
	}
	return names
}()

// fromValue fills in from v, the body as the pipeline decoded it to
// validate it (pipeline.Request.Value), and reports whether it could: the
// input is then what Request.Decode would make of the same body, which is
// decoded a second time only when fromValue returns false. It does not
// for what it does not build itself (custom fields, DND settings), for a
// value of another type than its field's (Decode words the error), and for
// a key that is not a field's exact name but may be taken for one: ASCII
// in another case, or any key with a letter outside ASCII, which
// encoding/json may fold to a field's name ("ſource"). Decode refuses
// the first and places the second.
func (in *contactInput) fromValue(v any) bool {
	body, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for key, value := range body {
		var ok bool
		switch key {
		case "locationId":
			ok = setScalar(&in.LocationID, value)
		case "firstName":
			ok = in.FirstName.from(value)
		case "lastName":
			ok = in.LastName.from(value)
		case "name":
			ok = in.Name.from(value)
		case "email":
			ok = in.Email.from(value)
		case "phone":
			ok = in.Phone.from(value)
		case "address1":
			ok = in.Address1.from(value)
		case "city":
			ok = in.City.from(value)
		case "state":
			ok = in.State.from(value)
		case "postalCode":
			ok = in.PostalCode.from(value)
		case "website":
			ok = in.Website.from(value)
		case "timezone":
			ok = in.Timezone.from(value)
		case "source":
			ok = in.Source.from(value)
		case "country":
			ok = in.Country.from(value)
		case "assignedTo":
			ok = in.AssignedTo.from(value)
		case "businessId":
			ok = in.BusinessID.from(value)
		case "companyName":
			ok = in.CompanyName.from(value)
		case "gender":
			ok = in.Gender.from(value)
		case "dateOfBirth":
			ok = in.DateOfBirth.from(value)
		case "dnd":
			ok = setBoolPtr(&in.DND, value)
		case "tags":
			ok = setStringsPtr(&in.Tags, value)
		case "createNewIfDuplicateAllowed":
			ok = setScalar(&in.CreateNewIfDuplicateAllowed, value)
		case "dndSettings", "inboundDndSettings", "customFields":
			// Left to Decode, by their types' own rules (ok stays false).
		default:
			ok = !contactInputFields[strings.ToLower(key)] && isASCII(key)
		}
		if !ok {
			return false
		}
	}
	return true
}

// isASCII reports whether s holds only ASCII bytes.
func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// from sets the field from a decoded JSON value, as UnmarshalJSON would
// from its text: false for a value that is neither a string nor null.
func (o *opt) from(v any) bool {
	switch v := v.(type) {
	case nil:
		*o = opt{Set: true, Null: true}
	case string:
		*o = opt{Set: true, V: v}
	default:
		return false
	}
	return true
}

// setScalar, setBoolPtr and setStringsPtr set a field from a decoded JSON
// value as encoding/json would from its text (null leaves a string or bool
// as it is and sets a pointer to nil); false for a value of another type.
func setScalar[T string | bool](dst *T, v any) bool {
	switch v := v.(type) {
	case nil:
	case T:
		*dst = v
	default:
		return false
	}
	return true
}

func setBoolPtr(dst **bool, v any) bool {
	switch v := v.(type) {
	case nil:
		*dst = nil
	case bool:
		*dst = &v
	default:
		return false
	}
	return true
}

func setStringsPtr(dst **[]string, v any) bool {
	switch v := v.(type) {
	case nil:
		*dst = nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return false
			}
			out[i] = s
		}
		*dst = &out
	default:
		return false
	}
	return true
}

// normalized returns the email and phone the input would store, for
// matching; an invalid value is reported by apply.
func (in *contactInput) normalized() (email, phone string) {
	if in.Email.Set {
		email = strings.TrimSpace(in.Email.V)
	}
	if in.Phone.Set {
		phone, _ = normalizePhone(in.Phone.V)
	}
	return email, phone
}

// apply writes the input onto c. Problems are reported together as one 422.
func (in *contactInput) apply(c *store.Contact, loc store.Location) error {
	var problems []string
	// The fields and their inputs in two arrays, not one of pairs: a pair
	// holding a field's address and a string would make the escape
	// analysis move c to the heap.
	dsts := [...]*string{&c.FirstName, &c.LastName, &c.Address1, &c.City, &c.State, &c.PostalCode, &c.Website,
		&c.Timezone, &c.Source, &c.Country, &c.AssignedTo, &c.BusinessID, &c.CompanyName, &c.Gender}
	opts := [...]opt{in.FirstName, in.LastName, in.Address1, in.City, in.State, in.PostalCode, in.Website,
		in.Timezone, in.Source, in.Country, in.AssignedTo, in.BusinessID, in.CompanyName, in.Gender}
	var _ [len(dsts) - len(opts)]struct{} // as many of each: neither compiles
	var _ [len(opts) - len(dsts)]struct{} // with one more than the other
	for i, o := range opts {
		o.to(dsts[i])
	}
	if in.Email.Set {
		email := strings.TrimSpace(in.Email.V)
		if email != "" && !validEmail(email) {
			problems = append(problems, "email must be an email")
		}
		c.Email = email
	}
	if in.Phone.Set {
		phone, ok := normalizePhone(in.Phone.V)
		if !ok {
			problems = append(problems, "phone must be a valid phone number")
		}
		c.Phone = phone
	}
	switch {
	case in.Name.Set && !in.FirstName.Set && !in.LastName.Set:
		c.Name = strings.TrimSpace(in.Name.V)
		c.FirstName, c.LastName, _ = strings.Cut(c.Name, " ")
		c.LastName = strings.TrimSpace(c.LastName)
	case in.Name.Set:
		c.Name = strings.TrimSpace(in.Name.V)
	case in.FirstName.Set || in.LastName.Set:
		c.Name = strings.TrimSpace(c.FirstName + " " + c.LastName)
	}
	if in.DateOfBirth.Set {
		c.DateOfBirth = nil
		if v := strings.TrimSpace(in.DateOfBirth.V); v != "" {
			d, ok := parseBirthDate(v)
			if !ok {
				problems = append(problems, "dateOfBirth must be a date in one of the formats YYYY-MM-DD, MM-DD-YYYY (separators - / . _)")
			}
			c.DateOfBirth = d
		}
	}
	if in.DND != nil {
		c.DND = *in.DND
	}
	c.DNDSettings = merge(c.DNDSettings, in.DNDSettings)
	c.InboundDNDSettings = merge(c.InboundDNDSettings, in.InboundDNDSettings)
	if in.Tags != nil {
		c.Tags = addTags(nil, *in.Tags)
	}
	for i, f := range in.CustomFields {
		if err := setCustomField(c, loc, f); err != "" {
			problems = append(problems, fmt.Sprintf("customFields[%d]: %s", i, err))
		}
	}
	if c.Type == "" {
		c.Type = "lead"
	}
	if len(problems) > 0 {
		return pipeline.Unprocessable(problems...)
	}
	return nil
}

func merge(dst, src map[string]store.DNDSetting) map[string]store.DNDSetting {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]store.DNDSetting{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// setCustomField sets (or, with a null value, clears) one custom field,
// keeping its value in the JSON type it was sent with. An id the location
// does not define is kept, dropped or refused as the location says
// (store.Location.UnknownCustomFields). It returns a problem, or "".
func setCustomField(c *store.Contact, loc store.Location, f customFieldInput) string {
	id, known := f.ID, false
	switch {
	case f.Key != "":
		i := slices.IndexFunc(loc.CustomFields, func(d store.CustomFieldDef) bool { return d.Key == f.Key })
		if i < 0 {
			return "no custom field with key " + f.Key + " in this location"
		}
		if id != "" && id != loc.CustomFields[i].ID {
			return "id " + id + " and key " + f.Key + " name different custom fields"
		}
		id, known = loc.CustomFields[i].ID, true
	case id == "":
		return "needs the custom field's id or key"
	default:
		known = slices.ContainsFunc(loc.CustomFields, func(d store.CustomFieldDef) bool { return d.ID == id })
	}
	raw := bytes.TrimSpace(f.FieldValue)
	switch value := bytes.TrimSpace(f.Value); {
	case len(raw) > 0 && len(value) > 0:
		return "give field_value or value, not both"
	case len(raw) == 0 && len(value) == 0:
		return "needs field_value (null clears the field)"
	case len(raw) == 0:
		raw = value
	}
	if !known {
		switch loc.UnknownCustomFields {
		case store.UnknownFieldsReject:
			return "no custom field with id " + id + " in this location"
		case store.UnknownFieldsDrop:
			return ""
		}
	}
	if bytes.Equal(raw, []byte("null")) {
		c.CustomFields = slices.DeleteFunc(c.CustomFields, func(v store.CustomFieldValue) bool { return v.ID == id })
		return ""
	}
	if raw[0] == '[' {
		var items []string
		if json.Unmarshal(raw, &items) != nil {
			return "an array value must hold strings"
		}
	}
	v, err := store.NewCustomFieldValue(id, raw)
	if err != nil {
		return "field_value is not a JSON value"
	}
	if i := slices.IndexFunc(c.CustomFields, func(v store.CustomFieldValue) bool { return v.ID == id }); i >= 0 {
		c.CustomFields[i] = v // in place: a field keeps its place among the contact's
	} else {
		c.CustomFields = append(c.CustomFields, v)
	}
	return ""
}

// addTags returns tags plus more, trimmed, lower-cased and without repeats,
// as the vendor stores them. It runs under the store's lock: one pass with a
// set, never a search of out per tag, keeps a body of 95,000 tags linear.
func addTags(tags, more []string) []string {
	out := slices.Clone(tags)
	seen := make(map[string]bool, len(tags)+len(more))
	for _, t := range tags {
		seen[t] = true
	}
	for _, t := range more {
		t = strings.ToLower(strings.TrimSpace(t))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func removeTags(tags, less []string) []string {
	drop := map[string]bool{}
	for _, t := range addTags(nil, less) {
		drop[t] = true
	}
	return slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return drop[t] })
}

func validEmail(s string) bool {
	if plainAddress(s) {
		return true
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// plainAddress reports whether s is local@domain, each a dot-atom of
// ASCII atext (RFC 5322: letters, digits and !#$%&'*+-/=?^_`{|}~, dots
// between them): an address net/mail takes as it is, which most are, told
// without its parser's allocations.
func plainAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && dotAtom(local) && dotAtom(domain)
}

// dotAtom reports whether s is atoms of atext joined by single dots.
func dotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := range len(s) {
		switch c := s[i]; {
		case c == '.':
			if s[i-1] == '.' {
				return false
			}
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// normalizePhone returns the E.164 form of a phone number: digits after a
// plus, with +1 assumed for ten-digit numbers as the vendor does for US
// locations. "" stays "".
func normalizePhone(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", true
	}
	var digits strings.Builder
	for i, r := range s {
		switch {
		case unicode.IsDigit(r):
			digits.WriteRune(r)
		case r == '+' && i == 0, strings.ContainsRune(" -().", r):
		default:
			return s, false
		}
	}
	d := digits.String()
	switch {
	case strings.HasPrefix(s, "+"):
	case len(d) == 10:
		d = "1" + d
	}
	if len(d) < 8 || len(d) > 15 {
		return s, false
	}
	return "+" + d, true
}

// birthLayouts are the date formats the vendor accepts for dateOfBirth.
var birthLayouts = func() []string {
	var out []string
	for _, sep := range []string{"-", "/", ".", "_"} {
		out = append(out, "2006"+sep+"01"+sep+"02", "01"+sep+"02"+sep+"2006")
	}
	return append(out, time.RFC3339Nano)
}()

func parseBirthDate(s string) (*time.Time, bool) {
	for _, layout := range birthLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
			return &d, true
		}
	}
	return nil, false
}
