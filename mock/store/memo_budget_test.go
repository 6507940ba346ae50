package store

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

// held is the bytes the memos' slots hold.
func held(memos ...*Memo) int64 {
	var n int64
	for _, m := range memos {
		for i := range m.slots {
			n += int64(size(m.slots[i].Load()))
		}
	}
	return n
}

func TestMemoCache_DropsTheOldestPastTheBudget(t *testing.T) {
	t.Parallel()
	c := newMemoCache(1000)
	var memos []*Memo
	for i := range 25 {
		m := c.newMemo()
		m.Store(i%MemoSlots, bytes.Repeat([]byte{'a' + byte(i)}, 100))
		memos = append(memos, m)
		if got := c.used.Load(); got > c.budget || got != held(memos...) {
			t.Fatalf("after %d renderings the cache counts %d bytes, the slots hold %d (budget %d)", i+1, got, held(memos...), c.budget)
		}
	}
	// The ten newest are kept, the others dropped.
	for i, m := range memos {
		got := m.Load(i % MemoSlots)
		if kept := i >= 15; kept != (got != nil) {
			t.Errorf("rendering %d kept = %v, want %v", i, got != nil, kept)
		}
	}
}

func TestMemoCache_ReleasedMemosCountForNothing(t *testing.T) {
	t.Parallel()
	c := newMemoCache(1000)
	a, b := c.newMemo(), c.newMemo()
	a.Store(0, make([]byte, 300))
	a.Store(1, make([]byte, 300))
	b.Store(0, make([]byte, 300))
	a.release()
	if got := c.used.Load(); got != 300 {
		t.Fatalf("after a's release the cache counts %d bytes, want b's 300", got)
	}
	if a.Load(0) != nil || a.Load(1) != nil {
		t.Error("a released still holds its renderings")
	}
	// a's slots are remembered still; dropping them takes nothing from b's
	// count, and b's rendering stays until it is the oldest past the budget.
	d := c.newMemo()
	d.Store(0, make([]byte, 600))
	if got := c.used.Load(); got != 900 || b.Load(0) == nil {
		t.Fatalf("the cache counts %d bytes (b kept: %v), want 900 with b kept", got, b.Load(0) != nil)
	}
	d.Store(1, make([]byte, 200))
	if got := c.used.Load(); got != 800 || b.Load(0) != nil {
		t.Errorf("the cache counts %d bytes (b kept: %v), want 800 with b dropped", got, b.Load(0) != nil)
	}
}

func TestMemoCache_StoredTwiceCountsTheLast(t *testing.T) {
	t.Parallel()
	c := newMemoCache(1000)
	m := c.newMemo()
	m.Store(0, make([]byte, 400))
	m.Store(0, make([]byte, 100))
	if got := c.used.Load(); got != 100 {
		t.Fatalf("the cache counts %d bytes, want the last rendering's 100", got)
	}
	// The first rendering's place in the ring empties the slot: the count
	// follows.
	for range 10 {
		c.newMemo().Store(1, make([]byte, 95))
	}
	if got, want := c.used.Load(), held(m); m.Load(0) != nil || got > c.budget {
		t.Errorf("the cache counts %d bytes (m holds %d), want m dropped and at most the budget", got, want)
	}
}

func TestMemoCache_RemembersAtMostMaxRefs(t *testing.T) {
	t.Parallel()
	c := newMemoCache(1 << 20)
	for range 10 * c.maxRefs {
		m := c.newMemo()
		m.Store(0, []byte("x"))
		m.release() // each leaves a remembered slot behind
	}
	if c.n > c.maxRefs || len(c.ring) > c.maxRefs {
		t.Errorf("the cache remembers %d slots in a ring of %d, want at most %d", c.n, len(c.ring), c.maxRefs)
	}
	if got := c.used.Load(); got != 0 {
		t.Errorf("the cache counts %d bytes of released memos, want 0", got)
	}
}

func TestMemoCache_ConcurrentStoresKeepTheCount(t *testing.T) {
	t.Parallel()
	c := newMemoCache(10_000)
	memos := make([]*Memo, 64)
	for i := range memos {
		memos[i] = c.newMemo()
	}
	var mu sync.RWMutex // as the store's: stores under the read lock, releases under the write lock
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				if g == 0 && i%50 == 0 {
					mu.Lock()
					k := i % len(memos)
					memos[k].release()
					memos[k] = c.newMemo()
					mu.Unlock()
					continue
				}
				mu.RLock()
				m := memos[(g*31+i)%len(memos)]
				if m.Load(i%MemoSlots) == nil {
					m.Store(i%MemoSlots, make([]byte, 100+i%200))
				}
				mu.RUnlock()
			}
		})
	}
	wg.Wait()
	if got, want := c.used.Load(), held(memos...); got != want || got > c.budget {
		t.Errorf("the cache counts %d bytes, the slots hold %d (budget %d)", got, want, c.budget)
	}
}

func TestStore_ReleasesTheMemosOfChangedAndDeletedContacts(t *testing.T) {
	t.Parallel()
	s := New(clock.NewManual(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)), NewIDs(1))
	s.PutLocation(Location{ID: "loc"})
	var ids []string
	for i := range 3 {
		c, err := s.CreateContact(Contact{LocationID: "loc", Email: fmt.Sprintf("c%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	fill := func() {
		s.ContactsPageFunc("loc", nil, 10, nil, func(c *Contact, m *Memo) { m.Store(0, []byte(c.ID)) })
	}
	fill()
	each := int64(len(ids[0]))
	if got := s.hl.memos.used.Load(); got != 3*each {
		t.Fatalf("three renderings count %d bytes, want %d", got, 3*each)
	}
	if _, err := s.UpdateContact(ids[0], func(c *Contact) error { c.FirstName = "Ada"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTask(ids[1], Task{Title: "call"}); err != nil { // touches its contact
		t.Fatal(err)
	}
	if err := s.DeleteContact(ids[2]); err != nil {
		t.Fatal(err)
	}
	if got := s.hl.memos.used.Load(); got != 0 {
		t.Errorf("after an update, a task and a delete the renderings count %d bytes, want 0", got)
	}
	fill()
	if got := s.hl.memos.used.Load(); got != 2*each {
		t.Errorf("two renderings made again count %d bytes, want %d", got, 2*each)
	}
}
