package highlevel

import (
	"encoding/json"
	"fmt"
	"strconv"

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
	b, err := json.Marshal(view(*c))
	if err != nil {
		return nil, fmt.Errorf("render contact %s: %w", c.ID, err)
	}
	m.Store(slot, b)
	return b, nil
}

// contactBody is the JSON of {"contact": contact}, contact encoded.
func contactBody(contact []byte) pipeline.RawJSON {
	buf := make([]byte, 0, len(`{"contact":}`)+len(contact))
	buf = append(buf, `{"contact":`...)
	buf = append(buf, contact...)
	return append(buf, '}')
}

// listBody is the JSON of {"contacts": [items...], "count": count, "meta":
// meta}, byte for byte what encoding/json makes of that map when items are
// the encoded contacts.
func listBody(items [][]byte, count int, meta map[string]any) (pipeline.RawJSON, error) {
	m, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("render list meta: %w", err)
	}
	n := len(`{"contacts":[],"count":,"meta":}`) + 20 + len(m) + len(items)
	for _, b := range items {
		n += len(b)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, `{"contacts":[`...)
	for i, b := range items {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, b...)
	}
	buf = append(buf, `],"count":`...)
	buf = strconv.AppendInt(buf, int64(count), 10)
	buf = append(buf, `,"meta":`...)
	buf = append(buf, m...)
	buf = append(buf, '}')
	return buf, nil
}
