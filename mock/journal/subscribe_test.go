package journal_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/journal"
)

func TestJournal_SubscribeSignalsWithoutBlocking(t *testing.T) {
	t.Parallel()
	j := journal.New(10, clock.NewManual(epoch))
	c, stop, err := j.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	// Many entries, nobody reading: the adds never block, one signal waits.
	for range 5 {
		j.Record(journal.Entry{Method: "GET", Path: "/contacts/"})
	}
	select {
	case <-c:
	default:
		t.Fatal("no signal after Record")
	}
	select {
	case <-c:
		t.Fatal("a second signal is pending: signals must coalesce")
	default:
	}
	if got := j.LastID(); got != 5 {
		t.Errorf("LastID %d, want 5", got)
	}
	stop()
	stop() // twice is harmless
	j.Record(journal.Entry{Method: "GET", Path: "/contacts/"})
	select {
	case <-c:
		t.Fatal("signal after stop")
	default:
	}
}

func TestJournal_SubscribersAreBounded(t *testing.T) {
	t.Parallel()
	j := journal.New(10, nil)
	var stops []func()
	for range journal.MaxSubscribers {
		_, stop, err := j.Subscribe()
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, stop)
	}
	if _, _, err := j.Subscribe(); !errors.Is(err, journal.ErrTooManySubscribers) {
		t.Fatalf("subscriber %d: %v, want ErrTooManySubscribers", journal.MaxSubscribers+1, err)
	}
	stops[3]()
	if _, _, err := j.Subscribe(); err != nil {
		t.Fatalf("after one stopped: %v", err)
	}
}

func TestJournal_EntryAfterTwinLocation(t *testing.T) {
	t.Parallel()
	j := journal.New(4, clock.NewManual(epoch))
	for _, e := range []journal.Entry{
		{Method: "GET", Path: "/contacts/", Location: "L1"},
		{Method: "GET", Path: "/v1/contacts", Location: "1001"},
		{Method: "POST", Path: "/contacts/", Location: "L2"},
		{Method: "GET", Path: "/v1", Location: "1001"},
		{Method: "GET", Path: "/v10/x", Location: "L1"},
	} {
		j.Record(e)
	}
	// Size 4: entry 1 is gone, 2..5 held.
	if _, ok := j.Entry(1); ok {
		t.Error("Entry(1) after eviction")
	}
	if _, ok := j.Entry(6); ok {
		t.Error("Entry(6) before it exists")
	}
	if e, ok := j.Entry(3); !ok || e.ID != 3 || e.Location != "L2" {
		t.Errorf("Entry(3) = %+v, %v", e, ok)
	}
	for _, tc := range []struct {
		name string
		f    journal.Filter
		want []int64
	}{
		{"after", journal.Filter{After: 3}, []int64{5, 4}},
		{"after all", journal.Filter{After: 5}, nil},
		{"m360", journal.Filter{Twin: journal.TwinM360}, []int64{4, 2}},
		{"highlevel", journal.Filter{Twin: journal.TwinHighLevel}, []int64{5, 3}},
		{"location", journal.Filter{Location: "1001"}, []int64{4, 2}},
		{"after and twin", journal.Filter{After: 2, Twin: journal.TwinM360}, []int64{4}},
	} {
		if got := ids(j.Entries(tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Entries %v, want %v", tc.name, got, tc.want)
		}
		if got := j.Count(tc.f); got != len(tc.want) {
			t.Errorf("%s: Count %d, want %d", tc.name, got, len(tc.want))
		}
	}
	j.Clear()
	if _, ok := j.Entry(5); ok || j.LastID() != 5 {
		t.Errorf("after Clear: Entry(5) %v, LastID %d", ok, j.LastID())
	}
}

func TestJournal_BriefEntries(t *testing.T) {
	t.Parallel()
	j := journal.New(4, nil)
	j.Record(journal.Entry{Method: "GET", Path: "/contacts/", Query: "locationId=L&access_token=" + secret, Status: 200,
		RequestHeaders: map[string][]string{"Authorization": {"Bearer " + secret}}, ResponseBody: `{"contacts":[]}`})
	j.Record(journal.Entry{Method: "POST", Path: "/contacts/", Status: 422,
		RequestHeaders:  map[string][]string{"Authorization": {"Bearer " + secret}},
		ResponseHeaders: map[string][]string{"Content-Type": {"application/json"}},
		ResponseBody:    `{"statusCode":422,"message":["email must be an email"]}`})
	got := j.Entries(journal.Filter{Brief: true})
	if len(got) != 2 {
		t.Fatalf("%d entries", len(got))
	}
	refused, ok := got[0], got[1]
	if ok.RequestHeaders != nil || ok.ResponseBody != "" || strings.Contains(ok.Query, secret) || !strings.Contains(ok.Query, "locationId=L") {
		t.Errorf("brief 200: %+v", ok)
	}
	// A 4xx keeps what says why, redacted as ever.
	if !strings.Contains(refused.ResponseBody, "email must be an email") || strings.Contains(fmt.Sprint(refused.RequestHeaders), secret) {
		t.Errorf("brief 422: %+v", refused)
	}
	// The entries themselves stay whole.
	if e, _ := j.Entry(1); e.ResponseBody != `{"contacts":[]}` || strings.Contains(e.Query, secret) || len(e.RequestHeaders) != 1 {
		t.Errorf("entry 1 after a brief read: %+v", e)
	}
}
