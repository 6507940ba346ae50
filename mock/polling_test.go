package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
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

// m360IDs lists the ids a Marketing 360 list answers, checking its total.
func m360IDs[T any](t *testing.T, e *m360Env, path string, id func(T) int64) []int64 {
	t.Helper()
	l := m360Must[m360List[T]](t, e, "GET", path, nil, http.StatusOK)
	out := []int64{}
	for _, r := range l.Result {
		out = append(out, id(r))
	}
	if l.Total != len(out) {
		t.Errorf("%s: total %d for %d records", path, l.Total, len(out))
	}
	return out
}

func taskID(t m360Task) int64   { return t.ID }
func noteID(n m360Note) int64   { return n.ID }
func eventID(v m360Event) int64 { return v.ID }

// TestM360_PollingAndExternalIDs: tasks, notes and calendar events carry
// externalIds, and every list of them, per contact and account-wide, takes
// updatedSince (ordered by updated then id) and externalId, so a client
// finds what it created even when the answer was lost.
func TestM360_PollingAndExternalIDs(t *testing.T) {
	t.Parallel()
	e := newM360(t, mock.Options{})
	t0 := clockStart.Unix()
	c1 := e.mustContact(t, jsonObj{"firstName": "One"})
	c2 := e.mustContact(t, jsonObj{"firstName": "Two"})
	tasks := func(c int64) string { return fmt.Sprintf("/v1/contacts/%d/tasks", c) }
	notes := func(c int64) string { return fmt.Sprintf("/v1/contacts/%d/notes", c) }
	t1 := m360Must[m360Result[m360Task]](t, e, "POST", tasks(c1.ID), jsonObj{"title": "Call", "externalIds": jsonObj{"ghl": "task-1"}}, 201).Result
	t2 := m360Must[m360Result[m360Task]](t, e, "POST", tasks(c2.ID), jsonObj{"title": "Mail"}, 201).Result
	n1 := m360Must[m360Result[m360Note]](t, e, "POST", notes(c1.ID), jsonObj{"body": "Hi", "externalIds": jsonObj{"ghl": "note-1"}}, 201).Result
	n2 := m360Must[m360Result[m360Note]](t, e, "POST", notes(c2.ID), jsonObj{"body": "Yo"}, 201).Result
	// e1 starts after e2: the default order (by start) is not the order of updates.
	e1 := m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events", jsonObj{"contactId": c1.ID, "start": t0 + 7200, "end": t0 + 9000, "externalIds": jsonObj{"ghl": "ev-1"}}, 201).Result
	e2 := m360Must[m360Result[m360Event]](t, e, "POST", "/v1/calendar/events", jsonObj{"contactId": c2.ID, "start": t0 + 3600, "end": t0 + 5400}, 201).Result
	if t1.ExternalIDs.GHL == nil || *t1.ExternalIDs.GHL != "task-1" || t2.ExternalIDs.GHL != nil ||
		n1.ExternalIDs.GHL == nil || *n1.ExternalIDs.GHL != "note-1" || n2.ExternalIDs.GHL != nil {
		t.Fatalf("externalIds as created: task %+v %+v, note %+v %+v", t1.ExternalIDs, t2.ExternalIDs, n1.ExternalIDs, n2.ExternalIDs)
	}

	e.advance(t, "10s")
	m360Must[m360Result[m360Task]](t, e, "PUT", fmt.Sprintf("%s/%d", tasks(c2.ID), t2.ID), jsonObj{"title": "Mail again"}, 200)
	m360Must[m360Result[m360Note]](t, e, "PUT", fmt.Sprintf("%s/%d", notes(c1.ID), n1.ID), jsonObj{"body": "Hi again"}, 200)
	m360Must[m360Result[m360Event]](t, e, "PUT", fmt.Sprintf("/v1/calendar/events/%d", e2.ID), jsonObj{"title": "Moved"}, 200)

	later, all := fmt.Sprintf("updatedSince=%d", t0+10), fmt.Sprintf("updatedSince=%d", t0)
	for _, tc := range []struct {
		path string
		want []int64
	}{
		{"/v1/tasks?" + later, []int64{t2.ID}},
		{tasks(c1.ID) + "?" + later, []int64{}},
		{tasks(c2.ID) + "?" + later, []int64{t2.ID}},
		{"/v1/tasks?" + all, []int64{t1.ID, t2.ID}},
		{"/v1/tasks?externalId=task-1", []int64{t1.ID}},
		{tasks(c1.ID) + "?externalId=task-1", []int64{t1.ID}},
		{tasks(c2.ID) + "?externalId=task-1", []int64{}},
		{"/v1/tasks?externalId=task-1&" + later, []int64{}},

		{"/v1/notes", []int64{n1.ID, n2.ID}},
		{"/v1/notes?" + later, []int64{n1.ID}},
		{"/v1/notes?" + all, []int64{n2.ID, n1.ID}},
		{fmt.Sprintf("/v1/notes?contactId=%d", c2.ID), []int64{n2.ID}},
		{notes(c1.ID) + "?" + later, []int64{n1.ID}},
		{notes(c2.ID) + "?" + later, []int64{}},
		{"/v1/notes?externalId=note-1", []int64{n1.ID}},
		{notes(c2.ID) + "?externalId=note-1", []int64{}},

		{"/v1/calendar/events", []int64{e2.ID, e1.ID}},
		{"/v1/calendar/events?" + all, []int64{e1.ID, e2.ID}},
		{"/v1/calendar/events?" + later, []int64{e2.ID}},
		{fmt.Sprintf("/v1/calendar/events?contactId=%d&%s", c1.ID, later), []int64{}},
		{"/v1/calendar/events?externalId=ev-1", []int64{e1.ID}},
	} {
		var got []int64
		switch {
		case strings.Contains(tc.path, "tasks"):
			got = m360IDs(t, e, tc.path, taskID)
		case strings.Contains(tc.path, "notes"):
			got = m360IDs(t, e, tc.path, noteID)
		default:
			got = m360IDs(t, e, tc.path, eventID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("GET %s: %v, want %v", tc.path, got, tc.want)
		}
	}

	// externalIds change with a partial update: null clears them.
	m360Must[m360Result[m360Task]](t, e, "PUT", fmt.Sprintf("%s/%d", tasks(c1.ID), t1.ID), jsonObj{"externalIds": nil}, 200)
	m360Must[m360Result[m360Note]](t, e, "PUT", fmt.Sprintf("%s/%d", notes(c2.ID), n2.ID), jsonObj{"externalIds": jsonObj{"ghl": "note-2"}}, 200)
	if got := m360IDs(t, e, "/v1/tasks?externalId=task-1", taskID); len(got) != 0 {
		t.Errorf("cleared externalIds still found: %v", got)
	}
	if got := m360IDs(t, e, "/v1/notes?externalId=note-2", noteID); !slices.Equal(got, []int64{n2.ID}) {
		t.Errorf("note-2: %v", got)
	}

	// A create whose answer was lost is found by its externalId.
	mustStatus(t, e.do(t, "POST", "/__admin/faults", jsonObj{"match": jsonObj{"operation": "m360-create-note"},
		"effect": jsonObj{"kind": "error", "status": 502, "after": true}, "times": 1}), http.StatusCreated)
	lost := e.send(t, m360Req{method: "POST", path: notes(c1.ID), body: jsonObj{"body": "Welcome", "externalIds": jsonObj{"ghl": "welcome-note:c1"}}, expect5xx: 502})
	mustStatus(t, lost, http.StatusBadGateway)
	if got := m360IDs(t, e, notes(c1.ID)+"?externalId=welcome-note:c1", noteID); len(got) != 1 {
		t.Errorf("the lost create: %v, want one note", got)
	}

	m360MustError(t, e.do(t, "GET", "/v1/tasks?externalId=", nil), 422, "externalId")
	m360MustError(t, e.do(t, "GET", notes(c1.ID)+"?updatedSince=-1", nil), 422, "updatedSince")
	m360MustError(t, e.do(t, "GET", "/v1/calendar/events?updatedSince=x", nil), 422, "updatedSince")
	m360MustError(t, e.do(t, "POST", tasks(c1.ID), jsonObj{"title": "x", "externalIds": jsonObj{"other": "y"}}), 422, "externalIds.other")
	m360MustError(t, e.do(t, "GET", notes(999999)+"?"+later, nil), 404)
}
