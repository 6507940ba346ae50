package store

import (
	"cmp"
	"slices"
)

// table is the store's one table engine, for the records of both APIs:
// values of type T by key, each in a group (the contact, location or
// account that owns it), every group kept in order. The order is the
// table's order function when it has one, else the records' sequence
// numbers (the order they were added in, or their ids); ties go by key.
//
// Its callers hold the store's lock. It stores and returns values as given:
// the store clones what goes in and out. A copy of a table shares its
// entries, its slab and its free entries: only one of the two may be
// changed (the store keeps the old tables of an import to read).
type table[K cmp.Ordered, G comparable, T any] struct {
	rows map[K]*entry[G, T]
	// slab holds entries made ahead, which insert takes one by one: by
	// reserve, or slabEntries at a time. The collector marks a slab's
	// entries as one object, where each entry of its own (a contact's is
	// 536 bytes) is an object to find and mark.
	slab []entry[G, T]
	// free holds removed entries, cleared, which insert takes before the
	// slab's: the entries allocated are never more than the most records
	// stored at once, whichever records go.
	free   []*entry[G, T]
	groups map[G][]K // each group's keys, in order
	// order, when not nil, orders the records (and must not change for a
	// stored one); otherwise their sequence numbers do.
	order func(a, b *T) int
	// groupOf is a record's group, which its record names (its owner's id)
	// and which must not change for a stored one: entries need not keep it
	// too (16 bytes a record, 8 MB at 100,000 contacts with 400,000 tasks
	// and notes).
	groupOf func(*T) G
	next    int64 // the sequence number add gives
}

type entry[G comparable, T any] struct {
	v   T
	seq int64
}

// newTable returns an empty table whose first sequence number is first,
// ordered by order (nil: by sequence), its records grouped by groupOf.
func newTable[K cmp.Ordered, G comparable, T any](first int64, order func(a, b *T) int, groupOf func(*T) G) table[K, G, T] {
	return table[K, G, T]{rows: map[K]*entry[G, T]{}, groups: map[G][]K{}, order: order, groupOf: groupOf, next: first}
}

func (t *table[K, G, T]) compare(a *entry[G, T], ka K, b *entry[G, T], kb K) int {
	if t.order != nil {
		if c := t.order(&a.v, &b.v); c != 0 {
			return c
		}
	} else if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	return cmp.Compare(ka, kb)
}

// search returns where a record v with key and sequence seq would sit in
// group g, and whether key is there.
func (t *table[K, G, T]) search(g G, key K, seq int64, v T) (int, bool) {
	return t.searchEntry(g, key, &entry[G, T]{v: v, seq: seq})
}

// searchEntry is search for the record and sequence number of probe (a
// stored entry, or one about to be). A record after the group's last, as
// every new record and every restored one in order is, is found by one
// comparison.
func (t *table[K, G, T]) searchEntry(g G, key K, probe *entry[G, T]) (int, bool) {
	keys := t.groups[g]
	if n := len(keys); n == 0 || t.compare(t.rows[keys[n-1]], keys[n-1], probe, key) < 0 {
		return n, false
	}
	return slices.BinarySearchFunc(keys, key, func(k, key K) int {
		return t.compare(t.rows[k], k, probe, key)
	})
}

// insert stores v under key, which must be new, in group g (v's) with
// sequence number seq, moving the sequence past it, and returns the stored
// record (ref's).
func (t *table[K, G, T]) insert(key K, g G, seq int64, v T) *T {
	e := t.newEntry()
	*e = entry[G, T]{v: v, seq: seq}
	keys := t.groups[g]
	i := len(keys) // past every stored sequence number, by sequence: last
	if t.order != nil || seq < t.next {
		i, _ = t.searchEntry(g, key, e) // the entry is its own probe
	}
	t.rows[key] = e
	t.groups[g] = slices.Insert(keys, i, key)
	t.next = max(t.next, seq+1)
	return &e.v
}

// newEntry returns an entry to store a record in: a removed one, else the
// slab's next, the slab made anew when it has none left.
func (t *table[K, G, T]) newEntry() *entry[G, T] {
	if n := len(t.free); n > 0 {
		e := t.free[n-1]
		t.free[n-1] = nil
		t.free = t.free[:n-1]
		return e
	}
	if len(t.slab) == 0 {
		t.slab = make([]entry[G, T], slabEntries)
	}
	e := &t.slab[0]
	if t.slab = t.slab[1:]; len(t.slab) == 0 {
		t.slab = nil // an empty slice of it would keep the slab
	}
	return e
}

// drop clears e, removed, and keeps it for the next record.
func (t *table[K, G, T]) drop(e *entry[G, T]) {
	*e = entry[G, T]{}
	t.free = append(t.free, e)
}

// slabEntries is how many entries newEntry makes at once. An entry stays
// allocated, with the others of its slab, until the last of them goes; a
// removed one is cleared, keeping nothing of its record, and taken again.
// At 16 the collector marks created contacts 2.1 times as fast as entries
// of their own (64: 2.4 times, BenchmarkCollect).
const slabEntries = 16

// reserve makes room for n more records in an empty table, in groups
// groups at most, in one allocation each for the indexes and the records,
// rather than growing them record by record (a restore knows how many it
// adds, and how many owners there are). A reserved entry stays allocated,
// with the others of its slab, until the last of them goes.
func (t *table[K, G, T]) reserve(n, groups int) {
	if len(t.rows) > 0 || n <= 0 {
		return
	}
	t.rows = make(map[K]*entry[G, T], n)
	t.groups = make(map[G][]K, min(n, groups))
	t.slab = make([]entry[G, T], n)
}

// add stores v under key, which must be new, in group g (v's), after every
// record added before it, and returns the stored record (ref's).
func (t *table[K, G, T]) add(key K, g G, v T) *T { return t.insert(key, g, t.next, v) }

// get returns the record with key and its group.
func (t *table[K, G, T]) get(key K) (T, G, bool) {
	e, ok := t.rows[key]
	if !ok {
		var v T
		var g G
		return v, g, false
	}
	return e.v, t.groupOf(&e.v), true
}

// in returns the record with key when it is in group g.
func (t *table[K, G, T]) in(g G, key K) (T, bool) {
	v, group, ok := t.get(key)
	if !ok || group != g {
		var zero T
		return zero, false
	}
	return v, true
}

// ref returns the stored record with key, for reading in place; nil when
// there is none.
func (t *table[K, G, T]) ref(key K) *T {
	if e, ok := t.rows[key]; ok {
		return &e.v
	}
	return nil
}

// set replaces the stored record with key, which must keep its place in
// the order.
func (t *table[K, G, T]) set(key K, v T) { t.rows[key].v = v }

// remove deletes the record with key, if there is one.
func (t *table[K, G, T]) remove(key K) {
	e, ok := t.rows[key]
	if !ok {
		return
	}
	g := t.groupOf(&e.v)
	if i, found := t.searchEntry(g, key, e); found {
		t.setGroup(g, slices.Delete(t.groups[g], i, i+1))
	}
	delete(t.rows, key)
	t.drop(e)
}

// removeGroup deletes every record of group g.
func (t *table[K, G, T]) removeGroup(g G) {
	for _, k := range t.groups[g] {
		t.drop(t.rows[k])
		delete(t.rows, k)
	}
	delete(t.groups, g)
}

// removeWhere deletes the records of group g for which drop is true.
func (t *table[K, G, T]) removeWhere(g G, drop func(T) bool) {
	keep := t.groups[g][:0:0]
	for _, k := range t.groups[g] {
		if e := t.rows[k]; drop(e.v) {
			t.drop(e)
			delete(t.rows, k)
		} else {
			keep = append(keep, k)
		}
	}
	t.setGroup(g, keep)
}

func (t *table[K, G, T]) setGroup(g G, keys []K) {
	if len(keys) == 0 {
		delete(t.groups, g)
	} else {
		t.groups[g] = keys
	}
}

// keysOf returns group g's keys in order; the slice is the table's, to read.
func (t *table[K, G, T]) keysOf(g G) []K { return t.groups[g] }

// list returns group g's records in order.
func (t *table[K, G, T]) list(g G) []T { return t.selectIn(g, nil) }

// selectIn returns group g's records for which keep is true (all when keep
// is nil), in order.
func (t *table[K, G, T]) selectIn(g G, keep func(T) bool) []T {
	keys := t.groups[g]
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		if v := t.rows[k].v; keep == nil || keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// keys returns every key, in order (across groups).
func (t *table[K, G, T]) keys() []K {
	rows := t.sorted()
	keys := make([]K, len(rows))
	for i, r := range rows {
		keys[i] = r.key
	}
	return keys
}

// all returns every record, in order (across groups), copied by clone.
func (t *table[K, G, T]) all(clone func(T) T) []T {
	rows := t.sorted()
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = clone(r.e.v)
	}
	return out
}

// keyed is a key and its entry, for sorting without looking either up.
type keyed[K cmp.Ordered, G comparable, T any] struct {
	key K
	e   *entry[G, T]
}

// sorted returns every row, in order (across groups).
func (t *table[K, G, T]) sorted() []keyed[K, G, T] {
	rows := make([]keyed[K, G, T], 0, len(t.rows))
	for k, e := range t.rows {
		rows = append(rows, keyed[K, G, T]{k, e})
	}
	slices.SortFunc(rows, func(a, b keyed[K, G, T]) int { return t.compare(a.e, a.key, b.e, b.key) })
	return rows
}

// size is the number of records.
func (t *table[K, G, T]) size() int { return len(t.rows) }
