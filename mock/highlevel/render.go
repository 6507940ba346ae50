package highlevel

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The slots of a stored contact's Memo.
const (
	memoListed  = iota // the contact as a list item (API.listed: the API's choice is fixed)
	memoContact        // the contact as GET /contacts/{id} shows it (contactView)
)

// rendered returns the JSON of view(*c): the one kept in slot of m when
// there is one, else one made now and kept there. A contact's renderings are
// made once per version of it, since the store gives each version a new Memo.
func rendered[V any](m *store.Memo, slot int, c *store.Contact, view func(store.Contact) V) ([]byte, error) {
	if b := m.Load(slot); b != nil {
		return b, nil
	}
	v := view(*c)
	var b []byte
	var err error
	if cv, ok := any(v).(contactView); ok {
		b, err = appendContactView(nil, &cv) // json.Marshal's bytes, without its reflection
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return nil, fmt.Errorf("render contact %s: %w", c.ID, err)
	}
	m.Store(slot, b)
	return b, nil
}

// contactBody is the JSON of {"contact": contact}, contact encoded.
func contactBody(contact []byte) pipeline.JSONParts {
	return pipeline.JSONParts{contactOpen, contact, closeBrace}
}

// The constant parts of the bodies.
var (
	contactOpen = []byte(`{"contact":`)
	listOpen    = []byte(`{"contacts":[`)
	comma       = []byte(`,`)
	closeBrace  = []byte(`}`)
)

// listParts gathers the parts of a list's body: the JSON around the items, and
// the items as they come.
type listParts struct{ parts pipeline.JSONParts }

// listPartsPool holds the listParts released, for the next lists: a page
// of 100 costs no allocation of its 204 parts.
var listPartsPool = sync.Pool{New: func() any { return new(listParts) }}

// newListParts returns the parts of a list of up to limit items.
func newListParts(limit int) *listParts {
	l := listPartsPool.Get().(*listParts)
	if n := 2*min(limit, 100) + 4; cap(l.parts) < n {
		l.parts = make(pipeline.JSONParts, 0, n)
	}
	l.parts = append(l.parts[:0], listOpen)
	return l
}

// release hands l back for reuse (pipeline.Response.Done): the body its
// parts made must be written.
func (l *listParts) release() {
	clear(l.parts[:cap(l.parts)]) // the pool keeps no rendering alive
	listPartsPool.Put(l)
}

// add appends an encoded item.
func (l *listParts) add(item []byte) {
	if len(l.parts) > 1 {
		l.parts = append(l.parts, comma)
	}
	l.parts = append(l.parts, item)
}

// listMeta is the meta of a page of contacts, its fields in the order
// encoding/json sorts a map's keys, so that it encodes byte for byte as the
// map of the same members does; nil is null.
type listMeta struct {
	CurrentPage  int     `json:"currentPage"`
	NextPage     *int    `json:"nextPage"`
	NextPageURL  *string `json:"nextPageUrl"`
	PrevPage     *int    `json:"prevPage"`
	StartAfter   *int64  `json:"startAfter"`
	StartAfterID *string `json:"startAfterId"`
	Total        int     `json:"total"`
}

// body is the JSON of {"contacts": [items...], "count": count, "meta":
// meta}, byte for byte what encoding/json makes of that map when the items
// are the encoded contacts.
func (l *listParts) body(count int, meta any) (pipeline.JSONParts, error) {
	m, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("render list meta: %w", err)
	}
	tail := make([]byte, 0, len(`],"count":,"meta":`)+20+len(m))
	tail = append(tail, `],"count":`...)
	tail = strconv.AppendInt(tail, int64(count), 10)
	tail = append(tail, `,"meta":`...)
	tail = append(tail, m...)
	return append(l.parts, tail, closeBrace), nil
}
