package mock_test

// End-to-end tests of a contact's customFields in the vendor's variants and
// of dateOfBirth in the vendor's formats, on the strict twin.

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// TestContacts_CustomFieldVariants: every customFields variant of the
// vendor's writes (by id, by key, by both; a string, an array, a number, an
// object of files; value as well as field_value) is stored and answered as
// the vendor answers, {id, value} with the value in its type, on create,
// GET, update, the list and search; a null clears, a field keeps its place;
// the malformed variants are 422 naming the field's index.
func TestContacts_CustomFieldVariants(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	type def struct {
		CustomField wireFieldDef `json:"customField"`
	}
	base := "/locations/" + e.loc.ID + "/customFields"
	interests := mustDo[def](t, e, "POST", base, jsonObj{"name": "Interests", "dataType": "CHECKBOX"}, http.StatusCreated).CustomField
	budget := mustDo[def](t, e, "POST", base, jsonObj{"name": "Budget", "dataType": "MONETORY"}, http.StatusCreated).CustomField
	contract := mustDo[def](t, e, "POST", base, jsonObj{"name": "Contract", "dataType": "FILE_UPLOAD", "acceptedFormat": []string{".pdf"}},
		http.StatusCreated).CustomField
	lead, plan := e.loc.CustomFields[0], e.loc.CustomFields[1]
	file := jsonObj{"f31175d4-2b06-4fc6-b7bc-74cd814c68cb": jsonObj{
		"meta": jsonObj{"originalname": "contract.pdf", "mimetype": "application/pdf", "size": 1786611},
		"url":  "https://example.com/documents/download/w2M9qTZ0ZJz8rGt02jdJ", "documentId": "w2M9qTZ0ZJz8rGt02jdJ"}}

	created := e.mustCreateContact(t, jsonObj{"firstName": "Vera", "customFields": []jsonObj{
		{"id": plan.ID, "field_value": "gold"},                              // TextField by id
		{"key": interests.FieldKey, "field_value": []string{"golf", "art"}}, // CheckboxField by key
		{"id": budget.ID, "key": budget.FieldKey, "field_value": 1250.5},    // MonetoryField by both
		{"key": contract.FieldKey, "field_value": file},                     // FileField
		{"id": lead.ID, "value": 42},                                        // the answers' name
	}})
	want := []wireCustomField{
		{ID: plan.ID, Value: "gold"}, {ID: interests.ID, Value: []any{"golf", "art"}}, {ID: budget.ID, Value: 1250.5},
		{ID: contract.ID, Value: asJSON(t, file)}, {ID: lead.ID, Value: 42.0},
	}
	if !reflect.DeepEqual(created.CustomFields, want) {
		t.Fatalf("created customFields %#v\nwant %#v", created.CustomFields, want)
	}
	got := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+created.ID, nil, http.StatusOK).Contact
	if !reflect.DeepEqual(got.CustomFields, want) {
		t.Errorf("GET customFields %#v", got.CustomFields)
	}
	type list struct {
		Contacts []wireContact `json:"contacts"`
	}
	for _, l := range []list{
		mustDo[list](t, e, "GET", "/contacts/?locationId="+e.loc.ID+"&query=vera", nil, http.StatusOK),
		mustDo[list](t, e, "POST", "/contacts/search", jsonObj{"locationId": e.loc.ID, "pageLimit": 10, "query": "vera"}, http.StatusOK),
	} {
		if len(l.Contacts) != 1 || !reflect.DeepEqual(l.Contacts[0].CustomFields, want) {
			t.Errorf("listed %+v", l.Contacts)
		}
	}

	// An update replaces a value in place, in another type if sent so;
	// null (either name) clears; what it does not name stays.
	up := mustDo[contactUpdated](t, e, "PUT", "/contacts/"+created.ID, jsonObj{"customFields": []jsonObj{
		{"key": interests.FieldKey, "value": []string{"chess"}},
		{"id": budget.ID, "field_value": nil},
		{"key": contract.FieldKey, "value": nil},
		{"id": plan.ID, "field_value": "7"},
	}}, http.StatusOK).Contact
	want = []wireCustomField{{ID: plan.ID, Value: "7"}, {ID: interests.ID, Value: []any{"chess"}}, {ID: lead.ID, Value: 42.0}}
	if !reflect.DeepEqual(up.CustomFields, want) {
		t.Errorf("updated customFields %#v\nwant %#v", up.CustomFields, want)
	}
	// A contact read can be written back as it was answered.
	back := mustDo[contactUpdated](t, e, "PUT", "/contacts/"+created.ID, jsonObj{"customFields": up.CustomFields}, http.StatusOK).Contact
	if !reflect.DeepEqual(back.CustomFields, want) {
		t.Errorf("written back %#v", back.CustomFields)
	}

	path := "/contacts/" + created.ID
	for _, tc := range []struct {
		name  string
		field jsonObj
		msg   string
	}{
		{"neither id nor key", jsonObj{"field_value": "x"}, "customFields[1]: needs the custom field's id or key"},
		{"unknown key", jsonObj{"key": "contact.nope", "field_value": "x"}, "customFields[1]: no custom field with key contact.nope"},
		{"id and key apart", jsonObj{"id": plan.ID, "key": lead.Key, "field_value": "x"}, "name different custom fields"},
		{"both value names", jsonObj{"id": plan.ID, "field_value": "x", "value": "y"}, "customFields[1]: give field_value or value, not both"},
		{"no value", jsonObj{"id": plan.ID}, "customFields[1]: needs field_value (null clears the field)"},
		{"array of numbers", jsonObj{"id": interests.ID, "field_value": []int{1, 2}}, "customFields.1.field_value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustError(t, e.do(t, "PUT", path, jsonObj{"firstName": "Changed", "customFields": []jsonObj{
				{"id": plan.ID, "field_value": "ok"}, tc.field}}), http.StatusUnprocessableEntity, tc.msg)
		})
	}
	// A refused write writes nothing.
	after := mustDo[wireContactEnvelope](t, e, "GET", path, nil, http.StatusOK).Contact
	if after.FirstName != "Vera" || !reflect.DeepEqual(after.CustomFields, want) {
		t.Errorf("after the refused writes %+v", after)
	}
	mustError(t, e.do(t, "PUT", "/contacts/NoSuchContact000000", jsonObj{"customFields": []jsonObj{{"id": plan.ID, "field_value": "x"}}}),
		http.StatusNotFound, "Contact not found")
}

// TestContacts_UnknownCustomFieldID: an id the location does not define is
// kept (the default), dropped or refused, as the location's
// unknownCustomFields says; an import with another value is refused.
func TestContacts_UnknownCustomFieldID(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	plan := e.loc.CustomFields[1]
	body := func(name string) jsonObj {
		return jsonObj{"firstName": name, "customFields": []jsonObj{
			{"id": "NotAFieldOfHere00001", "field_value": "kept?"}, {"id": plan.ID, "field_value": "gold"}}}
	}
	kept := e.mustCreateContact(t, body("Keep"))
	if want := []wireCustomField{{ID: "NotAFieldOfHere00001", Value: "kept?"}, {ID: plan.ID, Value: "gold"}}; !reflect.DeepEqual(kept.CustomFields, want) {
		t.Errorf("keep: %#v", kept.CustomFields)
	}
	setPolicy := func(policy string) {
		l, err := e.srv.Store().Location(e.loc.ID)
		if err != nil {
			t.Fatal(err)
		}
		l.UnknownCustomFields = policy
		e.srv.Store().PutLocation(l)
	}
	setPolicy(store.UnknownFieldsDrop)
	dropped := e.mustCreateContact(t, body("Drop"))
	if want := []wireCustomField{{ID: plan.ID, Value: "gold"}}; !reflect.DeepEqual(dropped.CustomFields, want) {
		t.Errorf("drop: %#v", dropped.CustomFields)
	}
	setPolicy(store.UnknownFieldsReject)
	mustError(t, e.do(t, "POST", "/contacts/", jsonObj{"locationId": e.loc.ID, "firstName": "Reject",
		"customFields": body("")["customFields"]}), http.StatusUnprocessableEntity,
		"customFields[0]: no custom field with id NotAFieldOfHere00001 in this location")
	// A write naming only known ids still passes.
	mustDo[contactUpdated](t, e, "PUT", "/contacts/"+kept.ID, jsonObj{"customFields": []jsonObj{{"id": plan.ID, "field_value": "silver"}}}, http.StatusOK)

	st := e.srv.Store().Snapshot()
	for i := range st.Locations {
		st.Locations[i].UnknownCustomFields = "ignore"
	}
	r := e.do(t, "PUT", "/__admin/state", st)
	mustStatus(t, r, http.StatusUnprocessableEntity)
	if p := mustDecode[struct {
		Problems []map[string]any `json:"problems"`
	}](t, r).Problems; len(p) != 1 || p[0]["field"] != "unknownCustomFields" {
		t.Errorf("import problems %v", p)
	}
}

// contactUpdated is the answer of PUT /contacts/{contactId}.
type contactUpdated struct {
	Contact wireContact `json:"contact"`
}

// asJSON is v as it decodes from its JSON: what an answer carrying it decodes to.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestContacts_DateOfBirth: each of the vendor's dateOfBirth formats (and
// the ISO time the create answers) is taken; the create answers it as an
// ISO time at midnight UTC, GET, update and the list as YYYY-MM-DD, as the
// vendor documents each; null and "" clear it; a number or an unknown
// format is 422.
func TestContacts_DateOfBirth(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	for i, in := range []string{"1990/09/25", "09/25/1990", "1990-09-25", "09-25-1990", "1990.09.25", "09.25.1990",
		"1990_09_25", "09_25_1990", "1990-09-25T00:00:00.000Z", " 1990-09-25 "} {
		c := e.mustCreateContact(t, jsonObj{"firstName": "Born", "email": fmt.Sprintf("born%d@example.com", i), "dateOfBirth": in})
		if c.DateOfBirth != "1990-09-25T00:00:00.000Z" || c.BirthMonth == nil || *c.BirthMonth != 8 || c.BirthDay == nil || *c.BirthDay != 25 {
			t.Errorf("%q: created dateOfBirth %q month %v day %v", in, c.DateOfBirth, c.BirthMonth, c.BirthDay)
		}
		if got := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact; got.DateOfBirth != "1990-09-25" {
			t.Errorf("%q: GET dateOfBirth %q", in, got.DateOfBirth)
		}
	}
	c := e.mustCreateContact(t, jsonObj{"firstName": "Leap", "dateOfBirth": "02/29/2000"})
	path := "/contacts/" + c.ID
	l := mustDo[struct {
		Contacts []wireContact `json:"contacts"`
	}](t, e, "GET", "/contacts/?locationId="+e.loc.ID+"&query=leap", nil, http.StatusOK)
	if len(l.Contacts) != 1 || l.Contacts[0].DateOfBirth != "2000-02-29" {
		t.Errorf("listed %+v", l.Contacts)
	}
	if u := mustDo[contactUpdated](t, e, "PUT", path, jsonObj{"dateOfBirth": "2001.03.01"}, http.StatusOK).Contact; u.DateOfBirth != "2001-03-01" {
		t.Errorf("updated dateOfBirth %q", u.DateOfBirth)
	}
	for _, bad := range []any{19900925, "2001-02-29", "25th of May", "1990-09-25 10:00", true} {
		r := e.do(t, "PUT", path, jsonObj{"dateOfBirth": bad})
		mustStatus(t, r, http.StatusUnprocessableEntity)
	}
	if got := mustDo[wireContactEnvelope](t, e, "GET", path, nil, http.StatusOK).Contact; got.DateOfBirth != "2001-03-01" {
		t.Errorf("after refused writes: %q", got.DateOfBirth)
	}
	for _, clear := range []any{nil, ""} {
		mustDo[contactUpdated](t, e, "PUT", path, jsonObj{"dateOfBirth": "2001-03-01"}, http.StatusOK)
		if u := mustDo[contactUpdated](t, e, "PUT", path, jsonObj{"dateOfBirth": clear}, http.StatusOK).Contact; u.DateOfBirth != "" || u.BirthMonth != nil {
			t.Errorf("cleared with %v: %q %v", clear, u.DateOfBirth, u.BirthMonth)
		}
	}
}

// TestContacts_ListProjection: with HighLevel.ListProjection the contact
// lists answer the vendor's list projection, and nothing else; GET of one
// contact still answers it whole. Without it, list items are full contacts.
func TestContacts_ListProjection(t *testing.T) {
	t.Parallel()
	projection := []string{"attributions", "businessId", "country", "customFields", "dateAdded", "email", "followers",
		"id", "locationId", "source", "tags", "timezone"}
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("projection ", on), func(t *testing.T) {
			t.Parallel()
			e := newTwinWith(t, mock.Options{Seed: 1, HighLevel: mock.HighLevelOptions{ListProjection: on}})
			c := e.mustCreateContact(t, jsonObj{"firstName": "Proj", "lastName": "Ected", "email": "proj@example.com", "timezone": "Europe/Paris",
				"country": "FR", "source": "form", "businessId": "641c094001436dbc2081e642", "city": "Lyon", "dateOfBirth": "1990-01-02",
				"tags": []string{"a"}, "customFields": []jsonObj{{"id": e.loc.CustomFields[0].ID, "field_value": 3}}})
			type items struct {
				Contacts []map[string]any `json:"contacts"`
			}
			for _, l := range []items{
				mustDo[items](t, e, "GET", "/contacts/?locationId="+e.loc.ID+"&query=proj", nil, http.StatusOK),
				mustDo[items](t, e, "POST", "/contacts/search", jsonObj{"locationId": e.loc.ID, "pageLimit": 5, "query": "proj"}, http.StatusOK),
			} {
				if len(l.Contacts) != 1 {
					t.Fatalf("listed %v", l.Contacts)
				}
				item := l.Contacts[0]
				delete(item, "searchAfter")
				keys := slices.Sorted(maps.Keys(item))
				if on && !slices.Equal(keys, projection) {
					t.Errorf("projected item has %v, want %v", keys, projection)
				}
				if !on && (item["city"] != "Lyon" || item["firstName"] != "Proj" || item["dateOfBirth"] != "1990-01-02") {
					t.Errorf("full item %v", item)
				}
				if item["id"] != c.ID || item["email"] != "proj@example.com" || fmt.Sprint(item["customFields"]) != fmt.Sprintf("[map[id:%s value:3]]", e.loc.CustomFields[0].ID) {
					t.Errorf("item %v", item)
				}
			}
			type one struct {
				Contact map[string]any `json:"contact"`
			}
			if got := mustDo[one](t, e, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact; got["city"] != "Lyon" || got["firstName"] != "Proj" {
				t.Errorf("GET of the contact %v", got)
			}
		})
	}
}
