package store

import (
	"sync"
	"sync/atomic"
)

// defaultMemoBudget is the bytes the renderings of a store's contacts may
// hold at once (Memo): at the bench's 1,000 contacts (the twin's default 250) every
// rendering fits (~870 bytes each, two per contact: ~1.7 MB), at 100,000
// about 4,800 do, where without a budget a twin under load came to hold a
// rendering of every contact it had served (~170 MB at 100,000, nearly
// twice that in resident memory at the collector's pace, gctune). Each MB
// of budget is up to 1.75 of a large twin's resident memory; past the
// lists' and a working set's renderings, more buys few hits.
const defaultMemoBudget = 4 << 20

// memoCache is the byte budget the renderings of a store's memos share. It
// counts the bytes their slots hold and remembers, oldest first, the slots
// filled; when the bytes pass the budget it empties the slots filled first
// until they no longer do. A slot it remembers may have been emptied since
// (the record changed: release) or filled again: emptying it then takes
// what it holds now, so the count is always what the slots hold, and a
// memo released with its record's version counts for nothing. It is safe
// for concurrent use.
type memoCache struct {
	budget int64
	used   atomic.Int64 // bytes the slots hold

	mu sync.Mutex // guards the fields below
	// ring holds the slots filled, oldest at head, n of them; it grows to
	// maxRefs, past which the oldest is emptied to make room, so that the
	// slots of released memos are not remembered without end.
	ring    []memoRef
	head, n int
	maxRefs int
}

// memoRef is a slot of a memo.
type memoRef struct {
	m    *Memo
	slot int
}

// minMemoRefs is the least a cache remembers, and its first ring.
const minMemoRefs = 64

// memoRefBytes is the bytes of budget per slot a cache remembers: a quarter
// of a rendering's size, so a full budget of renderings leaves room for as
// many slots again of released memos or renderings made twice.
const memoRefBytes = 256

func newMemoCache(budget int64) *memoCache {
	return &memoCache{budget: budget, maxRefs: max(minMemoRefs, int(budget/memoRefBytes))}
}

// newMemo returns an empty memo under the budget.
func (c *memoCache) newMemo() *Memo { return &Memo{cache: c} }

// size is the length of a slot's rendering; 0 for none.
func size(p *[]byte) int {
	if p == nil {
		return 0
	}
	return len(*p)
}

// kept counts a rendering just kept in slot i of m, delta bytes more than
// the slot held, and empties the oldest slots while the budget is passed.
func (c *memoCache) kept(m *Memo, i, delta int) {
	c.used.Add(int64(delta))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == len(c.ring) {
		if len(c.ring) < c.maxRefs {
			c.grow()
		} else {
			c.dropOldest()
		}
	}
	c.ring[(c.head+c.n)%len(c.ring)] = memoRef{m: m, slot: i}
	c.n++
	for c.used.Load() > c.budget && c.n > 0 {
		c.dropOldest()
	}
}

// grow doubles the ring, up to maxRefs. Callers hold mu.
func (c *memoCache) grow() {
	ring := make([]memoRef, min(max(2*len(c.ring), minMemoRefs), c.maxRefs))
	for i := range c.n {
		ring[i] = c.ring[(c.head+i)%len(c.ring)]
	}
	c.ring, c.head = ring, 0
}

// dropOldest forgets the oldest slot remembered and empties it. Callers
// hold mu.
func (c *memoCache) dropOldest() {
	r := c.ring[c.head]
	c.ring[c.head] = memoRef{}
	c.head = (c.head + 1) % len(c.ring)
	c.n--
	if p := r.m.slots[r.slot].Swap(nil); p != nil {
		c.used.Add(-int64(len(*p)))
	}
}

// release empties m, whose record has a new version or is gone: its
// renderings no longer count. Callers hold the store's lock.
func (m *Memo) release() {
	if m == nil {
		return
	}
	for i := range m.slots {
		if p := m.slots[i].Swap(nil); p != nil && m.cache != nil {
			m.cache.used.Add(-int64(len(*p)))
		}
	}
}

// renewMemo gives the stored contact c a new, empty memo, releasing its
// old one. Callers hold the store's lock.
func (s *Store) renewMemo(c *Contact) {
	c.memo.release()
	c.memo = s.hl.memos.newMemo()
}
