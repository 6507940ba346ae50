package store

import "slices"

// idIndex is a location's index of one field of its contacts (an email's
// key, a phone): the ids of the contacts with each value, oldest first.
// Nearly every value is one contact's, whose id first keeps inline; the ids
// after the first, when the location allows duplicates, are in more. (A map
// of slices took an allocation of its own per value: 200,000 at 100,000
// contacts.) The zero idIndex is empty, to read.
type idIndex struct {
	first map[string]string   // a value's oldest contact
	more  map[string][]string // the contacts after it, oldest first
}

// newIDIndex returns an empty index with room for n values.
func newIDIndex(n int) idIndex {
	return idIndex{first: make(map[string]string, n), more: map[string][]string{}}
}

// ids returns the ids of the contacts with value key, oldest first, in a
// slice of its own.
func (x idIndex) ids(key string) []string {
	id, ok := x.first[key]
	if !ok {
		return nil
	}
	return append([]string{id}, x.more[key]...)
}

// set makes ids the ids of the contacts with value key.
func (x idIndex) set(key string, ids []string) {
	if len(ids) == 0 {
		delete(x.first, key)
		delete(x.more, key)
		return
	}
	x.first[key] = ids[0]
	if len(ids) == 1 {
		delete(x.more, key)
	} else {
		x.more[key] = slices.Clip(ids[1:])
	}
}

// firstOther returns the oldest contact with value key other than self; ""
// when none.
func (x idIndex) firstOther(key, self string) string {
	id, ok := x.first[key]
	if !ok {
		return ""
	}
	if id != self {
		return id
	}
	for _, id := range x.more[key] {
		if id != self {
			return id
		}
	}
	return ""
}
