package highlevel

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// appendContactView appends the JSON of v, the bytes json.Marshal writes
// for it, without encoding/json's reflection: a contact's answer is encoded
// for every create and update. A string that is not plain ASCII, and the
// maps and custom fields (rare, and of their own rules), are encoded by
// json.Marshal itself. TestAppendContactView_AsEncodingJSON holds the two
// together.
func appendContactView(b []byte, v *contactView) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, v.ID)
	b = appendOmitEmpty(b, "name", v.Name)
	b = append(b, `,"locationId":`...)
	b = appendJSONString(b, v.LocationID)
	b = appendOmitEmpty(b, "firstName", v.FirstName)
	b = appendOmitEmpty(b, "lastName", v.LastName)
	b = appendOmitEmpty(b, "email", v.Email)
	b = appendOmitEmpty(b, "emailLowerCase", v.EmailLowerCase)
	b = appendOmitEmpty(b, "timezone", v.Timezone)
	b = appendOmitEmpty(b, "companyName", v.CompanyName)
	b = appendOmitEmpty(b, "phone", v.Phone)
	b = append(b, `,"dnd":`...)
	b = strconv.AppendBool(b, v.DND)
	var err error
	if len(v.DNDSettings) > 0 {
		if b, err = appendMarshaled(append(b, `,"dndSettings":`...), v.DNDSettings); err != nil {
			return nil, err
		}
	}
	if len(v.InboundDNDSettings) > 0 {
		if b, err = appendMarshaled(append(b, `,"inboundDndSettings":`...), v.InboundDNDSettings); err != nil {
			return nil, err
		}
	}
	b = appendOmitEmpty(b, "type", v.Type)
	b = appendOmitEmpty(b, "source", v.Source)
	b = appendOmitEmpty(b, "assignedTo", v.AssignedTo)
	b = appendOmitEmpty(b, "address1", v.Address1)
	b = appendOmitEmpty(b, "city", v.City)
	b = appendOmitEmpty(b, "state", v.State)
	b = appendOmitEmpty(b, "country", v.Country)
	b = appendOmitEmpty(b, "postalCode", v.PostalCode)
	b = appendOmitEmpty(b, "website", v.Website)
	b = appendOmitEmpty(b, "gender", v.Gender)
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
	b = appendOmitEmpty(b, "dateOfBirth", v.DateOfBirth)
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
	b = appendOmitEmpty(b, "firstNameLowerCase", v.FirstNameLowerCase)
	b = appendOmitEmpty(b, "lastNameLowerCase", v.LastNameLowerCase)
	b = appendOmitEmpty(b, "fullNameLowerCase", v.FullNameLowerCase)
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
	b = appendOmitEmpty(b, "businessId", v.BusinessID)
	return append(b, '}'), nil
}

// appendOmitEmpty appends `,"name":` and s, unless s is empty.
func appendOmitEmpty(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, s)
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
