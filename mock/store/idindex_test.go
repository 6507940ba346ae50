package store

import (
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

func TestIDIndex_OldestFirstThroughDuplicates(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := New(clk, NewIDs(1))
	s.PutLocation(Location{ID: "loc", AllowDuplicateContact: true})
	var ids []string
	for range 3 {
		c, err := s.CreateContact(Contact{LocationID: "loc", Email: "Same@example.com", Phone: "+15550100"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		clk.Advance(time.Second)
	}
	oldest := func() string {
		c, ok := s.FindDuplicate("loc", "same@example.com", "")
		if !ok {
			return ""
		}
		return c.ID
	}
	if got := oldest(); got != ids[0] {
		t.Fatalf("the oldest of three = %s, want %s", got, ids[0])
	}
	if n := len(s.hl.emails["loc"].ids("same@example.com")); n != 3 {
		t.Fatalf("the index holds %d ids, want 3", n)
	}
	// An update re-indexes the oldest: it stays first.
	if _, err := s.UpdateContact(ids[0], func(c *Contact) error { c.FirstName = "Ada"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); got != ids[0] {
		t.Errorf("after an update of the oldest, the oldest = %s, want %s", got, ids[0])
	}
	if err := s.DeleteContact(ids[0]); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); got != ids[1] {
		t.Errorf("after the oldest's delete, the oldest = %s, want %s", got, ids[1])
	}
	if _, err := s.UpdateContact(ids[1], func(c *Contact) error { c.Email = "other@example.com"; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := oldest(); got != ids[2] {
		t.Errorf("after the next one's email changed, the oldest = %s, want %s", got, ids[2])
	}
	if err := s.DeleteContact(ids[2]); err != nil {
		t.Fatal(err)
	}
	x := s.hl.emails["loc"]
	if got := oldest(); got != "" || len(x.more) != 0 || len(x.first) != 1 {
		t.Errorf("with one contact left (other@), the index = %v %v and finds %q", x.first, x.more, got)
	}
	if got := s.hl.phones["loc"].firstOther("+15550100", ids[1]); got != "" {
		t.Errorf("the phone's contact other than %s = %s, want none", ids[1], got)
	}
	if got := s.hl.phones["loc"].firstOther("+15550100", ""); got != ids[1] {
		t.Errorf("the phone's contact = %s, want %s", got, ids[1])
	}
}
