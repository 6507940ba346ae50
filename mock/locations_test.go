package mock_test

// End-to-end tests of a location's custom field definitions and tags:
// GET|POST /locations/{locationId}/customFields, GET|PUT|DELETE
// .../customFields/{id}, and the same for .../tags and .../tags/{tagId}.

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

type wireFieldDef struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	FieldKey           string   `json:"fieldKey"`
	Placeholder        string   `json:"placeholder"`
	DataType           string   `json:"dataType"`
	Position           int      `json:"position"`
	AcceptedFormat     []string `json:"acceptedFormat"`
	IsMultiFileAllowed bool     `json:"isMultiFileAllowed"`
	MaxFileLimit       int      `json:"maxFileLimit"`
	LocationID         string   `json:"locationId"`
	Model              string   `json:"model"`
}

type wireLocationTag struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	LocationID string `json:"locationId"`
}

func fieldKeys(defs []wireFieldDef) []string {
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		out = append(out, d.FieldKey)
	}
	return out
}

func TestLocations_CustomFields(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	base := "/locations/" + e.loc.ID + "/customFields"
	type one struct {
		CustomField wireFieldDef `json:"customField"`
	}
	type many struct {
		CustomFields []wireFieldDef `json:"customFields"`
	}
	// The default location's definitions are listed first.
	seeded := mustDo[many](t, e, "GET", base, nil, http.StatusOK).CustomFields
	if !slices.Equal(fieldKeys(seeded), []string{"contact.lead_score", "contact.plan"}) || seeded[0].DataType != "TEXT" {
		t.Fatalf("seeded definitions %+v", seeded)
	}

	made := mustDo[one](t, e, "POST", base, jsonObj{"name": " Pin code (home) ", "dataType": "FILE_UPLOAD", "placeholder": "PIN",
		"acceptedFormat": []string{".pdf"}, "isMultipleFile": true, "maxNumberOfFiles": 2, "position": 3}, http.StatusCreated).CustomField
	want := wireFieldDef{ID: made.ID, Name: "Pin code (home)", FieldKey: "contact.pin_code_home", Placeholder: "PIN", DataType: "FILE_UPLOAD",
		Position: 3, AcceptedFormat: []string{".pdf"}, IsMultiFileAllowed: true, MaxFileLimit: 2, LocationID: e.loc.ID, Model: "contact"}
	if !idPattern.MatchString(made.ID) || !equalJSON(t, made, want) {
		t.Errorf("created %+v\nwant %+v", made, want)
	}
	deal := mustDo[one](t, e, "POST", base, jsonObj{"name": "Deal size", "dataType": "MONETORY", "model": "opportunity"}, http.StatusCreated).CustomField
	if deal.FieldKey != "opportunity.deal_size" || deal.Model != "opportunity" {
		t.Errorf("opportunity field %+v", deal)
	}
	// The model narrows the list.
	for model, keys := range map[string][]string{
		"":            {"contact.lead_score", "contact.plan", "contact.pin_code_home", "opportunity.deal_size"},
		"all":         {"contact.lead_score", "contact.plan", "contact.pin_code_home", "opportunity.deal_size"},
		"contact":     {"contact.lead_score", "contact.plan", "contact.pin_code_home"},
		"opportunity": {"opportunity.deal_size"},
	} {
		path := base
		if model != "" {
			path += "?model=" + model
		}
		if got := fieldKeys(mustDo[many](t, e, "GET", path, nil, http.StatusOK).CustomFields); !slices.Equal(got, keys) {
			t.Errorf("model %q: %q, want %q", model, got, keys)
		}
	}
	// A key the location has is refused, whatever the case of the name.
	mustError(t, e.do(t, "POST", base, jsonObj{"name": "PIN CODE home", "dataType": "TEXT"}), http.StatusBadRequest, "fieldKey")
	mustError(t, e.do(t, "POST", base, jsonObj{"name": "--", "dataType": "TEXT"}), http.StatusUnprocessableEntity, "name")

	// Update changes the name and settings, never the key or the type.
	upd := mustDo[one](t, e, "PUT", base+"/"+made.ID, jsonObj{"name": "Postcode", "position": 1, "model": "opportunity"}, http.StatusOK).CustomField
	if upd.Name != "Postcode" || upd.FieldKey != made.FieldKey || upd.DataType != "FILE_UPLOAD" || upd.Position != 1 || upd.Model != "contact" {
		t.Errorf("updated %+v", upd)
	}
	if got := mustDo[one](t, e, "GET", base+"/"+made.ID, nil, http.StatusOK).CustomField; !equalJSON(t, got, upd) {
		t.Errorf("read back %+v, want %+v", got, upd)
	}

	// Contacts' values name the definitions by id or key.
	c := e.mustCreateContact(t, jsonObj{"firstName": "Fern", "customFields": []jsonObj{
		{"id": made.ID, "field_value": "SW1"}, {"key": "contact.plan", "field_value": "pro"}}})
	if len(c.CustomFields) != 2 || c.CustomFields[0].ID != made.ID {
		t.Fatalf("contact custom fields %+v", c.CustomFields)
	}
	// Deleting a definition takes the contacts' values of it.
	r := e.do(t, "DELETE", base+"/"+made.ID, nil)
	mustStatus(t, r, http.StatusOK)
	if !equalJSON(t, mustDecode[jsonObj](t, r), jsonObj{"succeded": true}) {
		t.Errorf("delete answered %s", r.body)
	}
	after := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact
	if len(after.CustomFields) != 1 || after.CustomFields[0].ID == made.ID || after.DateUpdated != c.DateUpdated {
		t.Errorf("after the definition went: %+v (dateUpdated %s, was %s)", after.CustomFields, after.DateUpdated, c.DateUpdated)
	}
	mustError(t, e.do(t, "GET", base+"/"+made.ID, nil), http.StatusNotFound, "Custom field not found")
	// Its key names nothing any more.
	mustError(t, e.do(t, "PUT", "/contacts/"+c.ID, jsonObj{"customFields": []jsonObj{{"key": made.FieldKey, "field_value": "x"}}}),
		http.StatusUnprocessableEntity, "no custom field with key "+made.FieldKey)

	// Another location's token sees none of it.
	_, otherToken := e.addLocation(t, "FieldsOtherLocation0", false)
	mustError(t, e.call(t, apiRequest{method: "GET", path: base, token: otherToken}), http.StatusForbidden, "does not have access")
}

func TestLocations_Tags(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	base := "/locations/" + e.loc.ID + "/tags"
	type one struct {
		Tag wireLocationTag `json:"tag"`
	}
	type many struct {
		Tags []wireLocationTag `json:"tags"`
	}
	if got := mustDo[many](t, e, "GET", base, nil, http.StatusOK).Tags; len(got) != 0 {
		t.Fatalf("a new location has tags %+v", got)
	}
	vip := mustDo[one](t, e, "POST", base, jsonObj{"name": " VIP "}, http.StatusOK).Tag
	if !idPattern.MatchString(vip.ID) || vip.Name != "vip" || vip.LocationID != e.loc.ID {
		t.Errorf("created %+v", vip)
	}
	lead := mustDo[one](t, e, "POST", base, jsonObj{"name": "lead"}, http.StatusOK).Tag
	mustError(t, e.do(t, "POST", base, jsonObj{"name": "Vip"}), http.StatusBadRequest, "name")
	mustError(t, e.do(t, "POST", base, jsonObj{"name": "   "}), http.StatusUnprocessableEntity, "name should not be empty")
	mustError(t, e.do(t, "PUT", base+"/"+lead.ID, jsonObj{"name": "vip"}), http.StatusBadRequest, "name")

	renamed := mustDo[one](t, e, "PUT", base+"/"+lead.ID, jsonObj{"name": "Hot lead"}, http.StatusOK).Tag
	if renamed.ID != lead.ID || renamed.Name != "hot lead" {
		t.Errorf("renamed %+v", renamed)
	}
	if got := mustDo[one](t, e, "GET", base+"/"+lead.ID, nil, http.StatusOK).Tag; got != renamed {
		t.Errorf("read back %+v, want %+v", got, renamed)
	}
	mustStatus(t, e.do(t, "DELETE", base+"/"+vip.ID, nil), http.StatusOK)
	mustError(t, e.do(t, "GET", base+"/"+vip.ID, nil), http.StatusNotFound, "Tag not found")
	mustError(t, e.do(t, "DELETE", base+"/"+vip.ID, nil), http.StatusNotFound, "Tag not found")
	if got := mustDo[many](t, e, "GET", base, nil, http.StatusOK).Tags; len(got) != 1 || got[0] != renamed {
		t.Errorf("tags after delete %+v", got)
	}
	_, otherToken := e.addLocation(t, "TagsOtherLocation000", false)
	mustError(t, e.call(t, apiRequest{method: "POST", path: base, body: jsonObj{"name": "x"}, token: otherToken}), http.StatusForbidden, "does not have access")
}

// TestLocations_TravelWithTheState: definitions and tags are exported,
// imported and reset with the location.
func TestLocations_TravelWithTheState(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	loc := e.srv.Defaults().HighLevel.Location.ID
	fields, tags := "/locations/"+loc+"/customFields", "/locations/"+loc+"/tags"
	f := e.do(t, "POST", fields, e.token, map[string]any{"name": "Shoe size", "dataType": "NUMERICAL"})
	e.want(t, f, http.StatusCreated)
	fieldID := f.body["customField"].(map[string]any)["id"].(string)
	tg := e.do(t, "POST", tags, e.token, map[string]any{"name": "vip"})
	e.want(t, tg, http.StatusOK)
	tagID := tg.body["tag"].(map[string]any)["id"].(string)

	exported := e.do(t, "GET", "/__admin/state", "", nil)
	e.want(t, exported, http.StatusOK)
	// Reset returns to the start-up state: without them.
	e.want(t, e.do(t, "POST", "/__admin/reset", "", nil), http.StatusOK)
	e.want(t, e.do(t, "GET", fields+"/"+fieldID, e.token, nil), http.StatusNotFound)
	e.want(t, e.do(t, "GET", tags+"/"+tagID, e.token, nil), http.StatusNotFound)
	// The exported state brings them back.
	var state map[string]any
	if err := json.Unmarshal(exported.raw, &state); err != nil {
		t.Fatal(err)
	}
	e.want(t, e.do(t, "PUT", "/__admin/state", "", state), http.StatusOK)
	e.want(t, e.do(t, "GET", fields+"/"+fieldID, e.token, nil), http.StatusOK)
	e.want(t, e.do(t, "GET", tags+"/"+tagID, e.token, nil), http.StatusOK)
	c := e.do(t, "POST", "/contacts/", e.token, map[string]any{"locationId": loc,
		"customFields": []map[string]any{{"id": fieldID, "field_value": 44}}})
	e.want(t, c, http.StatusCreated)
}
