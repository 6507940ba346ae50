package store

import (
	"hash/maphash"
	"slices"
)

// idIndex is a location's index of one field of its contacts (an email's
// key, a phone): the ids of the contacts with each value, oldest first.
//
// Its largest part is a map the collector never scans: a value is known by
// its 64-bit hash, which leads to the slot of its oldest contact's id in
// slots (a slice, scanned in order; a freed slot is taken again). A map of values
// to ids gave the collector two pointers to follow for each contact, to
// objects all over the heap: at 100,000 created contacts, the two indexes
// took a third of the time a collection spent on the store
// (BenchmarkCollect). Nearly every value is one contact's, whose id a slot
// keeps; the ids after the first, when the location allows duplicates, are
// in more.
//
// What a hash finds is checked against the contact's value (valueOf, the
// stored contact's value of the field, which the store gives each call), and a
// hash two values share is split: from then on its values are kept each
// under its own string, in exact, so that a hash in first is always of one
// value only.
type idIndex struct {
	hash func(string) uint64

	first map[uint64]int32    // a value's hash -> the slot of its oldest contact's id
	more  map[uint64][]string // the contacts after the oldest, oldest first
	slots []string            // ids; "" is a free slot, listed in free
	free  []int32

	split map[uint64]bool     // the hashes two values share
	exact map[string][]string // their values' contacts, oldest first
}

// newIDIndex returns an empty index with room for n values.
func newIDIndex(n int) *idIndex {
	seed := maphash.MakeSeed()
	return newIDIndexHashing(n, func(s string) uint64 { return maphash.String(seed, s) })
}

// newIDIndexHashing is newIDIndex with hash as the values' hash (a test's,
// to make values share one).
func newIDIndexHashing(n int, hash func(string) uint64) *idIndex {
	return &idIndex{hash: hash, first: make(map[uint64]int32, n), more: map[uint64][]string{},
		slots: make([]string, 0, n), split: map[uint64]bool{}, exact: map[string][]string{}}
}

// empty reports whether the index holds no value.
func (x *idIndex) empty() bool { return len(x.first) == 0 && len(x.exact) == 0 }

// oldest returns the slot of the oldest contact with value key, whose hash
// is h and not split.
func (x *idIndex) oldest(key string, h uint64, valueOf func(id string) string) (int32, bool) {
	slot, ok := x.first[h]
	if !ok || valueOf(x.slots[slot]) != key {
		return 0, false
	}
	return slot, true
}

// ids returns the ids of the contacts with value key, oldest first, in a
// slice of its own.
func (x *idIndex) ids(key string, valueOf func(id string) string) []string {
	h := x.hash(key)
	if x.split[h] {
		return slices.Clone(x.exact[key])
	}
	slot, ok := x.oldest(key, h, valueOf)
	if !ok {
		return nil
	}
	return append([]string{x.slots[slot]}, x.more[h]...)
}

// add gives id the value key, at its place among the contacts with it in
// the order of compare (of another contact's id to id's contact).
func (x *idIndex) add(key, id string, compare func(other string) int, valueOf func(id string) string) {
	h := x.hash(key)
	if _, taken := x.first[h]; !taken && !x.split[h] {
		x.first[h] = x.take(id)
		return
	}
	ids := x.ids(key, valueOf)
	i, _ := slices.BinarySearchFunc(ids, id, func(other, _ string) int { return compare(other) })
	x.set(key, slices.Insert(ids, i, id), valueOf)
}

// set makes ids the ids of the contacts with value key.
func (x *idIndex) set(key string, ids []string, valueOf func(id string) string) {
	h := x.hash(key)
	if !x.split[h] {
		slot, taken := x.first[h]
		if taken && valueOf(x.slots[slot]) != key {
			if len(ids) == 0 {
				return // key has no contact, and another value has the hash
			}
			x.splitHash(h, slot, valueOf)
		} else {
			x.setHashed(h, slot, taken, ids)
			return
		}
	}
	if len(ids) == 0 {
		delete(x.exact, key)
	} else {
		x.exact[key] = slices.Clip(ids)
	}
}

// setHashed is set for a value of hash h, not split, whose oldest contact
// is in slot when taken.
func (x *idIndex) setHashed(h uint64, slot int32, taken bool, ids []string) {
	switch {
	case len(ids) == 0:
		if taken {
			x.release(slot)
			delete(x.first, h)
			delete(x.more, h)
		}
		return
	case taken:
		x.slots[slot] = ids[0]
	default:
		x.first[h] = x.take(ids[0])
	}
	if len(ids) == 1 {
		delete(x.more, h)
	} else {
		x.more[h] = slices.Clip(ids[1:])
	}
}

// splitHash moves the value of hash h, whose oldest contact is in slot, to
// exact, where the other value of h is about to go.
func (x *idIndex) splitHash(h uint64, slot int32, valueOf func(id string) string) {
	held := x.slots[slot]
	x.exact[valueOf(held)] = append([]string{held}, x.more[h]...)
	x.release(slot)
	delete(x.first, h)
	delete(x.more, h)
	x.split[h] = true
}

func (x *idIndex) take(id string) int32 {
	if n := len(x.free); n > 0 {
		slot := x.free[n-1]
		x.free = x.free[:n-1]
		x.slots[slot] = id
		return slot
	}
	x.slots = append(x.slots, id)
	return int32(len(x.slots) - 1)
}

func (x *idIndex) release(slot int32) {
	x.slots[slot] = ""
	x.free = append(x.free, slot)
}

// remove takes id from the contacts with value key.
func (x *idIndex) remove(key, id string, valueOf func(id string) string) {
	h := x.hash(key)
	if slot, ok := x.first[h]; ok && x.slots[slot] == id && len(x.more[h]) == 0 {
		// The one contact of the hash's one value (key: id's).
		x.setHashed(h, slot, true, nil)
		return
	}
	x.set(key, slices.DeleteFunc(x.ids(key, valueOf), func(other string) bool { return other == id }), valueOf)
}

// firstOther returns the oldest contact with value key other than self; ""
// when none.
func (x *idIndex) firstOther(key, self string, valueOf func(id string) string) string {
	h := x.hash(key)
	var ids []string
	if x.split[h] {
		ids = x.exact[key]
	} else if slot, ok := x.oldest(key, h, valueOf); !ok {
		return ""
	} else if id := x.slots[slot]; id != self {
		return id
	} else {
		ids = x.more[h]
	}
	for _, id := range ids {
		if id != self {
			return id
		}
	}
	return ""
}
