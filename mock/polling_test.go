package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestContacts_PollByDateUpdated: every write the live API reports as a
// contact update moves dateUpdated, and a poller that searches dateUpdated
// after its cursor, ascending, paging with searchAfter, sees each changed
// contact, even when one is changed again between its pages.
func TestContacts_PollByDateUpdated(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	created := mustCreateMany(t, e, 6, time.Minute, func(i int) jsonObj {
		return jsonObj{"firstName": fmt.Sprintf("Poll%d", i), "tags": []string{"old"}}
	})
	cursor := created[len(created)-1].DateUpdated
	e.clk.Advance(time.Minute)

	// One write of each kind, to the contacts newest first, so the order
	// of dateUpdated is not the order of dateAdded.
	writes := []struct {
		name         string
		method, path string
		body         jsonObj
		status       int
	}{
		{"tags added", "POST", "/tags", jsonObj{"tags": []string{"vip"}}, http.StatusCreated},
		{"tags removed", "DELETE", "/tags", jsonObj{"tags": []string{"old"}}, http.StatusOK},
		{"dnd", "PUT", "", jsonObj{"dnd": true}, http.StatusOK},
		{"dnd settings", "PUT", "", jsonObj{"dndSettings": jsonObj{"SMS": jsonObj{"status": "active"}}}, http.StatusOK},
		{"custom field", "PUT", "", jsonObj{"customFields": []jsonObj{{"id": "pollField", "field_value": "x"}}}, http.StatusOK},
		{"business", "PUT", "", jsonObj{"businessId": "pollBusiness"}, http.StatusOK},
	}
	var order []string // contact ids in the order they changed
	stamps := map[string]string{}
	for i, w := range writes {
		c := created[len(created)-1-i]
		mustStatus(t, e.do(t, w.method, "/contacts/"+c.ID+w.path, w.body), w.status)
		got := mustDo[wireContactEnvelope](t, e, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact
		if got.DateUpdated <= cursor || got.DateAdded != c.DateAdded {
			t.Errorf("%s: dateUpdated %s (cursor %s), dateAdded %s (was %s)", w.name, got.DateUpdated, cursor, got.DateAdded, c.DateAdded)
		}
		order, stamps[c.ID] = append(order, c.ID), got.DateUpdated
		e.clk.Advance(time.Second)
	}

	poll := func(t *testing.T, after json.RawMessage) []wireContact {
		t.Helper()
		body := jsonObj{"locationId": e.loc.ID, "pageLimit": 2,
			"filters": []jsonObj{{"field": "dateUpdated", "operator": "range", "value": jsonObj{"gt": msValue(t, cursor)}}},
			"sort":    []jsonObj{{"field": "dateUpdated", "direction": "asc"}}}
		if after != nil {
			body["searchAfter"] = after
		}
		return mustDo[struct {
			Contacts []wireContact `json:"contacts"`
		}](t, e, "POST", "/contacts/search", body, http.StatusOK).Contacts
	}
	var seen []string
	var after json.RawMessage
	for page := 0; page < 10; page++ {
		got := poll(t, after)
		if len(got) == 0 {
			break
		}
		for _, c := range got {
			seen = append(seen, c.ID)
		}
		last := got[len(got)-1]
		after = last.SearchAfter
		if page == 0 {
			// The last contact of the first page changes again: it comes
			// again at the end, and the next page skips no other.
			mustStatus(t, e.do(t, "PUT", "/contacts/"+last.ID, jsonObj{"lastName": "Again"}), http.StatusOK)
		}
	}
	if want := append(slices.Clone(order), order[1]); !slices.Equal(seen, want) {
		t.Errorf("polled %v, want %v", seen, want)
	}

	// A bounded range, both ends ISO text, and the newest first.
	got := mustDo[struct {
		Contacts []wireContact `json:"contacts"`
	}](t, e, "POST", "/contacts/search", jsonObj{"locationId": e.loc.ID, "pageLimit": 10,
		"filters": []jsonObj{{"field": "dateUpdated", "operator": "range", "value": jsonObj{"gte": stamps[order[2]], "lte": stamps[order[4]]}}},
		"sort":    []jsonObj{{"field": "dateUpdated", "direction": "desc"}}}, http.StatusOK).Contacts
	ids := []string{}
	for _, c := range got {
		ids = append(ids, c.ID)
	}
	if want := []string{order[4], order[3], order[2]}; !slices.Equal(ids, want) {
		t.Errorf("range gte..lte desc: %v, want %v", ids, want)
	}

	// A deleted contact's cursor still works: the page starts after it.
	// (order[1] changed again: the first page is order[0] and order[2].)
	first := poll(t, nil)
	mustStatus(t, e.do(t, "DELETE", "/contacts/"+first[1].ID, nil), http.StatusOK)
	if next := poll(t, first[1].SearchAfter); len(next) == 0 || first[1].ID != order[2] || next[0].ID != order[3] {
		t.Errorf("after deleted %s: %v, want %s first", first[1].ID, next, order[3])
	}
}
