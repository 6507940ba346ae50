package highlevel

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/contactbridge/contactbridge/mock/store"
)

// appendContactView appends the JSON of v, the bytes json.Marshal writes
// for it, without encoding/json's reflection: for the answers of create and
// update, and the rendering GET keeps of each version of a contact. A string that is not plain ASCII, and the
// maps and custom fields (rare, and of their own rules), are encoded by
// json.Marshal itself. TestAppendContactView_AsEncodingJSON holds the two
// together.
func appendContactView(b []byte, v *contactView) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, v.ID)
	b = appendOmitEmpty(b, field{"name", v.Name})
	b = append(b, `,"locationId":`...)
	b = appendJSONString(b, v.LocationID)
	b = appendOmitEmpty(b, field{"firstName", v.FirstName}, field{"lastName", v.LastName}, field{"email", v.Email},
		field{"emailLowerCase", v.EmailLowerCase}, field{"timezone", v.Timezone}, field{"companyName", v.CompanyName},
		field{"phone", v.Phone})
	b = append(b, `,"dnd":`...)
	b = strconv.AppendBool(b, v.DND)
	var err error
	for _, m := range [...]struct {
		name     string
		settings map[string]store.DNDSetting
	}{{"dndSettings", v.DNDSettings}, {"inboundDndSettings", v.InboundDNDSettings}} {
		if len(m.settings) == 0 {
			continue
		}
		b = append(append(append(b, ',', '"'), m.name...), '"', ':')
		if b, err = appendMarshaled(b, m.settings); err != nil {
			return nil, err
		}
	}
	b = appendOmitEmpty(b, field{"type", v.Type}, field{"source", v.Source}, field{"assignedTo", v.AssignedTo},
		field{"address1", v.Address1}, field{"city", v.City}, field{"state", v.State}, field{"country", v.Country},
		field{"postalCode", v.PostalCode}, field{"website", v.Website}, field{"gender", v.Gender})
	b = append(b, `,"tags":`...)
	if v.Tags == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, tag := range v.Tags {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, tag)
		}
		b = append(b, ']')
	}
	b = appendOmitEmpty(b, field{"dateOfBirth", v.DateOfBirth})
	if v.BirthMonth != nil {
		b = strconv.AppendInt(append(b, `,"birthMonth":`...), int64(*v.BirthMonth), 10)
	}
	if v.BirthDay != nil {
		b = strconv.AppendInt(append(b, `,"birthDay":`...), int64(*v.BirthDay), 10)
	}
	b = append(b, `,"dateAdded":`...)
	b = appendJSONString(b, v.DateAdded)
	b = append(b, `,"dateUpdated":`...)
	b = appendJSONString(b, v.DateUpdated)
	b = append(b, `,"deleted":`...)
	b = strconv.AppendBool(b, v.Deleted)
	b = appendOmitEmpty(b, field{"firstNameLowerCase", v.FirstNameLowerCase}, field{"lastNameLowerCase", v.LastNameLowerCase},
		field{"fullNameLowerCase", v.FullNameLowerCase})
	b = append(b, `,"customFields":`...)
	switch {
	case v.CustomFields == nil:
		b = append(b, "null"...)
	case len(v.CustomFields) == 0:
		b = append(b, "[]"...)
	default:
		if b, err = appendMarshaled(b, v.CustomFields); err != nil {
			return nil, err
		}
	}
	b = appendOmitEmpty(b, field{"businessId", v.BusinessID})
	return append(b, '}'), nil
}

// field is a string member of an object: its name and value.
type field struct{ name, value string }

// appendOmitEmpty appends `,"name":value` for each of fields whose value
// is not empty.
func appendOmitEmpty(b []byte, fields ...field) []byte {
	for _, f := range fields {
		if f.value == "" {
			continue
		}
		b = append(append(append(b, ',', '"'), f.name...), '"', ':')
		b = appendJSONString(b, f.value)
	}
	return b
}

// appendJSONString appends s as json.Marshal writes it: printable ASCII
// but for the characters it escapes (quote, backslash and, as HTML-safe
// JSON, <, > and &) as it is, anything else through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s) // a string always encodes
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendMarshaled appends json.Marshal's encoding of v.
func appendMarshaled(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode contact: %w", err)
	}
	return append(b, out...), nil
}
