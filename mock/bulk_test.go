package mock_test

// End-to-end tests of the bulk operations on a location's contacts:
// POST /contacts/bulk/tags/update/{type} and POST /contacts/bulk/business.

import (
	"net/http"
	"slices"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

type wireBulkTagsLine struct {
	ContactID   string   `json:"contactId"`
	Message     string   `json:"message"`
	Type        string   `json:"type"`
	OldTags     []string `json:"oldTags"`
	TagsAdded   []string `json:"tagsAdded"`
	TagsRemoved []string `json:"tagsRemoved"`
}

type wireBulkTags struct {
	Succeded   bool               `json:"succeded"`
	ErrorCount int                `json:"errorCount"`
	Responses  []wireBulkTagsLine `json:"responses"`
}

func TestBulk_Tags(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	ada := e.mustCreateContact(t, jsonObj{"firstName": "Ada", "tags": []string{"lead"}})
	bob := e.mustCreateContact(t, jsonObj{"firstName": "Bob"})
	gone := e.mustCreateContact(t, jsonObj{"firstName": "Gone"})
	mustStatus(t, e.do(t, "DELETE", "/contacts/"+gone.ID, nil), http.StatusOK)
	otherLoc, otherToken := e.addLocation(t, "BulkOtherLocation000", false)
	r := e.call(t, apiRequest{method: "POST", path: "/contacts/", body: jsonObj{"locationId": otherLoc.ID, "firstName": "S"},
		token: otherToken})
	mustStatus(t, r, http.StatusCreated)
	foreign := mustDecode[wireContactEnvelope](t, r).Contact

	tagsOf := func(id string) []string {
		return mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+id, nil, http.StatusOK).Contact.Tags
	}
	add := mustDo[wireBulkTags](t, e, "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": e.loc.ID,
		"contacts": []string{ada.ID, bob.ID, "abcdef", gone.ID, foreign.ID}, "tags": []string{" VIP ", "lead"}}, http.StatusCreated)
	want := []wireBulkTagsLine{
		{ContactID: ada.ID, Message: "Tags updated", Type: "success", OldTags: []string{"lead"}, TagsAdded: []string{"vip"}, TagsRemoved: []string{}},
		{ContactID: bob.ID, Message: "Tags updated", Type: "success", OldTags: []string{}, TagsAdded: []string{"vip", "lead"}, TagsRemoved: []string{}},
		{ContactID: "abcdef", Message: "contact id is not a valid firebase id", Type: "error"},
		{ContactID: gone.ID, Message: "contact is deleted", Type: "error"},
		{ContactID: foreign.ID, Message: "contact does not belong to location", Type: "error"},
	}
	if add.Succeded || add.ErrorCount != 3 || !equalJSON(t, add.Responses, want) {
		t.Errorf("add answered %+v\nwant %+v", add, want)
	}
	if got := tagsOf(ada.ID); !slices.Equal(got, []string{"lead", "vip"}) {
		t.Errorf("ada's tags %q", got)
	}
	if got := tagsOf(bob.ID); !slices.Equal(got, []string{"vip", "lead"}) {
		t.Errorf("bob's tags %q", got)
	}
	if got := mustDecode[wireContactEnvelope](t, e.call(t, apiRequest{method: "GET", path: "/contacts/" + foreign.ID, token: otherToken})).Contact.Tags; len(got) != 0 {
		t.Errorf("another location's contact got tags %q", got)
	}

	// Remove, then remove every tag; a contact whose tags stay is not saved.
	before := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+bob.ID, nil, http.StatusOK).Contact
	e.clk.Advance(1000)
	rm := mustDo[wireBulkTags](t, e, "POST", "/contacts/bulk/tags/update/remove", jsonObj{"locationId": e.loc.ID,
		"contacts": []string{ada.ID, bob.ID}, "tags": []string{"LEAD", "absent"}}, http.StatusCreated)
	if !rm.Succeded || rm.ErrorCount != 0 || !slices.Equal(rm.Responses[0].TagsRemoved, []string{"lead"}) ||
		!slices.Equal(tagsOf(ada.ID), []string{"vip"}) || !slices.Equal(tagsOf(bob.ID), []string{"vip"}) {
		t.Errorf("remove answered %+v", rm)
	}
	if after := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+bob.ID, nil, http.StatusOK).Contact; after.DateUpdated == before.DateUpdated {
		t.Errorf("a tag removal did not move dateUpdated")
	}
	same := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+bob.ID, nil, http.StatusOK).Contact
	mustDo[wireBulkTags](t, e, "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": e.loc.ID,
		"contacts": []string{bob.ID}, "tags": []string{"vip"}}, http.StatusCreated)
	if after := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+bob.ID, nil, http.StatusOK).Contact; after.DateUpdated != same.DateUpdated {
		t.Errorf("adding a tag the contact has saved it")
	}
	all := mustDo[wireBulkTags](t, e, "POST", "/contacts/bulk/tags/update/remove", jsonObj{"locationId": e.loc.ID,
		"contacts": []string{ada.ID}, "tags": []string{}, "removeAllTags": true}, http.StatusCreated)
	if !all.Succeded || !slices.Equal(all.Responses[0].TagsRemoved, []string{"vip"}) || len(tagsOf(ada.ID)) != 0 {
		t.Errorf("removeAllTags answered %+v", all)
	}

	// Refusals: removeAllTags with add, an unknown type, too many contacts,
	// another location.
	mustError(t, e.do(t, "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": e.loc.ID,
		"contacts": []string{ada.ID}, "tags": []string{}, "removeAllTags": true}), http.StatusUnprocessableEntity, "removeAllTags")
	r = e.do(t, "POST", "/contacts/bulk/tags/update/replace", jsonObj{"locationId": e.loc.ID, "contacts": []string{ada.ID}, "tags": []string{"x"}})
	mustStatus(t, r, http.StatusBadRequest)
	many := make([]string, 101)
	for i := range many {
		many[i] = ada.ID
	}
	mustError(t, e.do(t, "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": e.loc.ID, "contacts": many, "tags": []string{"x"}}),
		http.StatusUnprocessableEntity, "contacts")
	r = e.call(t, apiRequest{method: "POST", path: "/contacts/bulk/tags/update/add", token: otherToken,
		body: jsonObj{"locationId": e.loc.ID, "contacts": []string{ada.ID}, "tags": []string{"x"}}})
	mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
}

func TestBulk_Business(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	ada := e.mustCreateContact(t, jsonObj{"firstName": "Ada"})
	bob := e.mustCreateContact(t, jsonObj{"firstName": "Bob", "businessId": "old-business"})
	otherLoc, otherToken := e.addLocation(t, "BizOtherLocation0000", false)
	r := e.call(t, apiRequest{method: "POST", path: "/contacts/", body: jsonObj{"locationId": otherLoc.ID, "firstName": "S"}, token: otherToken})
	mustStatus(t, r, http.StatusCreated)
	foreign := mustDecode[wireContactEnvelope](t, r).Contact

	type bulkAnswer struct {
		Success bool     `json:"success"`
		IDs     []string `json:"ids"`
	}
	got := mustDo[bulkAnswer](t, e, "POST", "/contacts/bulk/business", jsonObj{"locationId": e.loc.ID,
		"ids": []string{ada.ID, bob.ID, ada.ID, foreign.ID, "UnknownId00000000000"}, "businessId": "63b7ec34ea409a9a8bd2a4ff"}, http.StatusOK)
	if !got.Success || !slices.Equal(got.IDs, []string{ada.ID, bob.ID}) {
		t.Errorf("set answered %+v", got)
	}
	inBusiness := mustDo[wireContactsList](t, e, "GET", "/contacts/business/63b7ec34ea409a9a8bd2a4ff?locationId="+e.loc.ID, nil, http.StatusOK)
	if inBusiness.Count != 2 {
		t.Errorf("%d contacts in the business, want 2", inBusiness.Count)
	}
	// A null businessId takes them out.
	got = mustDo[bulkAnswer](t, e, "POST", "/contacts/bulk/business", jsonObj{"locationId": e.loc.ID,
		"ids": []string{bob.ID}, "businessId": nil}, http.StatusOK)
	if b := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+bob.ID, nil, http.StatusOK).Contact; b.BusinessID != "" || !slices.Equal(got.IDs, []string{bob.ID}) {
		t.Errorf("after null: business %q, answer %+v", b.BusinessID, got)
	}
	if f := mustDecode[wireContactEnvelope](t, e.call(t, apiRequest{method: "GET", path: "/contacts/" + foreign.ID, token: otherToken})).Contact; f.BusinessID != "" {
		t.Errorf("another location's contact joined the business")
	}
	// Refusals: no businessId key, an id too long, another location.
	mustError(t, e.do(t, "POST", "/contacts/bulk/business", jsonObj{"locationId": e.loc.ID, "ids": []string{ada.ID}}),
		http.StatusUnprocessableEntity, "businessId")
	mustError(t, e.do(t, "POST", "/contacts/bulk/business", jsonObj{"locationId": e.loc.ID, "ids": []string{string(make([]byte, 51))}, "businessId": "b"}),
		http.StatusUnprocessableEntity, "ids.0")
	r = e.call(t, apiRequest{method: "POST", path: "/contacts/bulk/business", token: otherToken,
		body: jsonObj{"locationId": e.loc.ID, "ids": []string{ada.ID}, "businessId": "b"}})
	mustError(t, r, http.StatusForbidden, "The token does not have access to this location.")
}

// TestBulk_Webhooks: each contact a bulk call changes sends its event;
// one it leaves as it was sends none.
func TestBulk_Webhooks(t *testing.T) {
	e := newHookEnv(t, mock.Options{})
	hl := e.hl
	ada := hl.mustCreateContact(t, jsonObj{"firstName": "Ada", "tags": []string{"vip"}})
	bob := hl.mustCreateContact(t, jsonObj{"firstName": "Bob"})
	mustStatus(t, hl.do(t, "POST", "/contacts/bulk/tags/update/add", jsonObj{"locationId": hl.loc.ID,
		"contacts": []string{ada.ID, bob.ID}, "tags": []string{"vip"}}), http.StatusCreated)
	mustStatus(t, hl.do(t, "POST", "/contacts/bulk/business", jsonObj{"locationId": hl.loc.ID,
		"ids": []string{ada.ID}, "businessId": "biz-1"}), http.StatusOK)
	// Deliveries are ordered per contact only: compare each contact's.
	_, got := e.events(t, 4)
	per := map[string][]string{}
	for _, d := range got {
		per[d.str("id")] = append(per[d.str("id")], d.str("type"))
	}
	wantEvents(t, per[ada.ID], "ContactCreate", "ContactUpdate")
	wantEvents(t, per[bob.ID], "ContactCreate", "ContactTagUpdate")
}
