package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/admin"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/store"
)

// browsed is a store with a location of 30 contacts (Contact 0 the oldest)
// and a Marketing 360 account of 7, the newest HighLevel and the first
// Marketing 360 contact with records.
func browsed(t *testing.T) (*admin.API, *store.Store, string, store.M360Contact) {
	t.Helper()
	clk := clock.NewManual(t0)
	st := store.New(clk, store.NewIDs(1))
	st.PutLocation(store.Location{ID: "L", Name: "Shop", AllowDuplicateContact: true})
	var last store.Contact
	for i := range 30 {
		clk.Advance(time.Second)
		c, err := st.CreateContact(store.Contact{LocationID: "L", FirstName: fmt.Sprintf("Contact %d", i),
			Email: fmt.Sprintf("c%d@example.com", i), Phone: fmt.Sprintf("+1 555 010%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		last = c
	}
	if _, err := st.CreateTask(last.ID, store.Task{Title: "Call back", DueDate: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateNote(last.ID, store.Note{Body: "Met at the fair"}); err != nil {
		t.Fatal(err)
	}
	acct := st.PutM360Account(store.M360Account{Name: "Acme"})
	var first store.M360Contact
	for i := range 7 {
		c, err := st.CreateM360Contact(store.M360Contact{AccountID: acct.ID, FirstName: fmt.Sprintf("M %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c
		}
	}
	if _, err := st.CreateM360Task(store.M360Task{AccountID: acct.ID, ContactID: first.ID, Title: "Onboard"}); err != nil {
		t.Fatal(err)
	}
	camp, err := st.PutM360Campaign(store.M360Campaign{AccountID: acct.ID, Name: "Welcome", Status: store.M360CampaignActive})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.TriggerM360Campaign(acct.ID, camp.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	api := &admin.API{Store: st, Records: st, Clock: clk, M360AccountExists: func(id int64) bool {
		_, err := st.M360Account(id)
		return err == nil
	}}
	return api, st, last.ID, first
}

func names(t *testing.T, a answer) []string {
	t.Helper()
	var out []string
	for _, c := range a.body["contacts"].([]any) {
		out = append(out, c.(map[string]any)["firstName"].(string))
	}
	return out
}

func TestAPI_BrowseContactsPagesAndSearches(t *testing.T) {
	t.Parallel()
	api, _, newest, _ := browsed(t)
	h := newHandler(t, api)
	for _, tc := range []struct {
		query        string
		total, first int // first: the number of the page's first contact
		n            int
	}{
		{"offset=0&limit=10", 30, 29, 10},
		{"offset=25&limit=10", 30, 4, 5},
		{"", 30, 29, 25},
		{"query=contact%202", 11, 29, 11},     // Contact 2, 20..29
		{"query=C7%40EXAMPLE", 1, 7, 1},       // email, any case
		{"query=555-01015&limit=5", 1, 15, 1}, // phone digits
		{"query=zzz", 0, -1, 0},
		{"query=contact&offset=28", 30, 1, 2},
	} {
		a := call(t, h, http.MethodGet, "/__admin/state/contacts?locationId=L&"+tc.query, "").want(t, http.StatusOK)
		got := names(t, a)
		if a.body["total"] != float64(tc.total) || len(got) != tc.n ||
			(tc.n > 0 && got[0] != fmt.Sprintf("Contact %d", tc.first)) {
			t.Errorf("%s: total %v, contacts %v", tc.query, a.body["total"], got)
		}
	}
	call(t, h, http.MethodGet, "/__admin/state/contacts?locationId=nope", "").want(t, http.StatusNotFound)
	call(t, h, http.MethodGet, "/__admin/state/contacts?locationId=L&limit=0", "").want(t, http.StatusUnprocessableEntity)

	a := call(t, h, http.MethodGet, "/__admin/state/contacts/"+newest, "").want(t, http.StatusOK)
	if len(a.body["tasks"].([]any)) != 1 || len(a.body["notes"].([]any)) != 1 || len(a.body["appointments"].([]any)) != 0 {
		t.Errorf("contact detail: %s", a.raw)
	}
	call(t, h, http.MethodGet, "/__admin/state/contacts/nope", "").want(t, http.StatusNotFound)

	a = call(t, h, http.MethodGet, "/__admin/state/overview", "").want(t, http.StatusOK)
	if !strings.Contains(a.raw, `{"id":"L","name":"Shop","contacts":30}`) || !strings.Contains(a.raw, `"name":"Acme"`) {
		t.Errorf("overview: %s", a.raw)
	}
}

func TestAPI_BrowseM360(t *testing.T) {
	t.Parallel()
	api, _, _, first := browsed(t)
	h := newHandler(t, api)
	base := fmt.Sprintf("/__admin/state/m360/%d/contacts", first.AccountID)
	a := call(t, h, http.MethodGet, base+"?offset=5&limit=5", "").want(t, http.StatusOK)
	if a.body["total"] != 7.0 || a.body["offset"] != 5.0 || len(a.body["contacts"].([]any)) != 2 {
		t.Errorf("page 2: %s", a.raw)
	}
	// An offset inside a page starts at the page.
	if a := call(t, h, http.MethodGet, base+"?offset=3&limit=5", "").want(t, http.StatusOK); a.body["offset"] != 0.0 {
		t.Errorf("offset 3: %s", a.raw)
	}
	a = call(t, h, http.MethodGet, fmt.Sprintf("%s/%d", base, first.ID), "").want(t, http.StatusOK)
	for k, n := range map[string]int{"tasks": 1, "notes": 0, "events": 0, "triggers": 1} {
		if got := len(a.body[k].([]any)); got != n {
			t.Errorf("%s: %d, want %d: %s", k, got, n, a.raw)
		}
	}
	call(t, h, http.MethodGet, fmt.Sprintf("%s/%d", base, first.ID+1000), "").want(t, http.StatusNotFound)
	call(t, h, http.MethodGet, "/__admin/state/m360/999/contacts", "").want(t, http.StatusNotFound)
}

func TestAPI_LimitsChart(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(t0) // 09:30:00
	j := journal.New(100, clk)
	for i, e := range []struct {
		ago    time.Duration
		status int
		loc    string
	}{{0, 200, "L"}, {0, 429, "L"}, {30 * time.Second, 200, "L"}, {3 * time.Minute, 200, "L"}, {0, 200, "other"}, {20 * time.Minute, 200, "L"}} {
		j.Record(journal.Entry{ID: int64(i), Time: t0.Add(-e.ago), Method: "GET", Path: "/contacts/", Status: e.status, Location: e.loc})
	}
	h := newHandler(t, &admin.API{Journal: j, Clock: clk})
	a := call(t, h, http.MethodGet, "/__admin/limits/chart.svg?location=L&minutes=10", "").want(t, http.StatusOK)
	if !strings.HasPrefix(a.raw, "<svg") || !strings.Contains(a.raw, "<title>4 requests, 1 answered 429, in the last 10 minutes (peak 2 a minute)</title>") {
		t.Fatalf("chart: %s", a.raw)
	}
	// Bars: 09:27 (one), 09:29 (one), 09:30 (two, one of them a 429).
	if got := strings.Count(a.raw, `fill="#1f6feb"`); got != 3 {
		t.Errorf("%d request bars, want 3: %s", got, a.raw)
	}
	if got := strings.Count(a.raw, `fill="#b42318"`); got != 1 {
		t.Errorf("%d 429 bars, want 1: %s", got, a.raw)
	}
	call(t, h, http.MethodGet, "/__admin/limits/chart.svg", "").want(t, http.StatusUnprocessableEntity)
}
