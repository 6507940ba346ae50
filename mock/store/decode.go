package store

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"slices"
	"strconv"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/contactbridge/contactbridge/internal/jsonguard"
)

// stateTables are the tables a state must name (the HighLevel ones; the
// Marketing 360 ones may be left out).
var stateTables = []string{"locations", "contacts", "tasks", "notes", "appointments"}

// RecordCheck checks one record of a table as it was sent (its JSON, before
// it decodes); an error is a problem of the record: an *InvalidError names
// the field and the reason, another error's message is the reason.
type RecordCheck func(table string, record json.RawMessage) error

// DecodeState reads a state as GET /__admin/state writes it, one record at a
// time: unlike decoding the whole document at once, it never holds the
// encoded state in memory, which matters for large states. Each record is
// checked as it decodes: by check (nil: none), for its id (and a contact for
// its location and dateAdded, a record for its contact), for the types of its
// values and for keys naming a field in another case than the field's. What
// is wrong, and a state that lacks a HighLevel table, is an *ImportError
// listing it; malformed JSON is another error. The references between
// records are checked when the state is restored (Restore, Import).
func DecodeState(r io.Reader, check RecordCheck) (State, error) {
	return DecodeStateThen(r, check, nil)
}

// DecodeStateThen is DecodeState, handing ready (when not nil) the state
// decoded so far once it holds the locations and the contacts, unless a
// record is at fault by then: a restore can begin with them (BeginRestore)
// while the other tables decode. It calls ready at most once, from its own
// goroutine, and never changes what it handed over; but a state may name a
// table twice, whose records then add up: the locations and contacts ready
// was given are the decoded state's only when those are as many.
func DecodeStateThen(r io.Reader, check RecordCheck, ready func(State)) (State, error) {
	var st State
	var p problems
	sc := newStateScanner(r)
	if err := sc.expect('{', "'{'"); err != nil {
		return st, err
	}
	seen := map[string]bool{}
	c, err := sc.peek()
	if err != nil {
		return st, err
	}
	if c == '}' {
		sc.pos++
	}
	for more := c != '}'; more; {
		key, err := sc.name()
		if err != nil {
			return st, err
		}
		seen[key] = true
		d := tableDecoder{sc: sc, table: key, check: check, p: &p}
		switch key {
		case "locations":
			err = decodeTable(d, &st.Locations, func(l *Location) string { return l.ID }, nil)
		case "contacts":
			err = decodeTable(d, &st.Contacts, func(c *Contact) string { return c.ID }, func(c *Contact) string {
				switch {
				case c.LocationID == "":
					return "locationId"
				case c.DateAdded.IsZero():
					return "dateAdded"
				}
				return ""
			})
		case "tasks":
			err = decodeRecords(d, &st.Tasks)
		case "notes":
			err = decodeRecords(d, &st.Notes)
		case "appointments":
			err = decodeRecords(d, &st.Appointments)
		case "webhooks":
			err = decodeTable(d, &st.Webhooks, func(w *Webhook) string { return w.ClientID }, nil)
		case "m360Accounts":
			err = decodeTable(d, &st.M360Accounts, func(a *M360Account) string { return m360ID(a.ID) }, nil)
		case "m360Contacts":
			err = decodeTable(d, &st.M360Contacts, func(c *M360Contact) string { return m360ID(c.ID) }, nil)
		case "m360Tasks":
			err = decodeTable(d, &st.M360Tasks, func(t *M360Task) string { return m360ID(t.ID) }, nil)
		case "m360Notes":
			err = decodeTable(d, &st.M360Notes, func(n *M360Note) string { return m360ID(n.ID) }, nil)
		case "m360Events":
			err = decodeTable(d, &st.M360Events, func(e *M360Event) string { return m360ID(e.ID) }, nil)
		case "m360Campaigns":
			err = decodeTable(d, &st.M360Campaigns, func(c *M360Campaign) string { return m360ID(c.ID) }, nil)
		case "m360Triggers":
			err = decodeTable(d, &st.M360Triggers, func(t *M360Trigger) string { return m360ID(t.ID) }, nil)
		case "m360Webhooks":
			err = decodeTable(d, &st.M360Webhooks, func(w *M360Webhook) string { return m360ID(w.ID) }, nil)
		default:
			// Other keys decode through State's own JSON mapping, which
			// refuses a table's name in another case.
			err = decodeOther(sc, &st, key)
		}
		var keyErr *jsonguard.KeyError
		switch {
		case errors.As(err, &keyErr):
			p.add(key, -1, "", keyErr.Key, "is not a field (fields are named by their exact case: "+keyErr.Field+")")
		case err != nil:
			return st, fmt.Errorf("store: decode state: %s: %w", key, err)
		}
		if ready != nil && (key == "locations" || key == "contacts") && seen["locations"] && seen["contacts"] && len(p.list) == 0 {
			ready(st)
			ready = nil
		}
		closed, err := sc.next('}')
		if err != nil {
			return st, err
		}
		more = !closed
	}
	for _, table := range stateTables {
		if !seen[table] {
			p.add(table, -1, "", "", "is required (an empty array for none)")
		}
	}
	return st, p.err()
}

// m360ID is a Marketing 360 id as a problem names it; "" for none (0).
func m360ID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}

// tableDecoder reads one table of a state.
type tableDecoder struct {
	sc     *stateScanner
	table  string
	check  RecordCheck
	p      *problems
	packer *packer // the decoder's (compact.go)
}

// decodeRecords decodes a table of HighLevel contacts' records.
func decodeRecords[T any, P hlRecord[T]](d tableDecoder, out *[]T) error {
	return decodeTable(d, out, func(v *T) string { id, _ := P(v).key(); return id }, func(v *T) string {
		if _, contact := P(v).key(); contact == "" {
			return "contactId"
		}
		return ""
	})
}

// decodeTable appends the records of a JSON array (or nothing for null) to
// *out, each checked as DecodeState says; id is a record's id, missing the
// first field it lacks besides its id ("" when none, nil for no such check).
// A record with a problem is not kept. Only malformed JSON ends the table.
//
// The caller's goroutine reads the records' text, a batch at a time, and
// decoders decode and check the batches meanwhile: one per CPU up to
// maxDecoders, or one when there is a check, which need not be safe for
// concurrent use. The reader finds each record's end by its structure
// (stateScanner: about a tenth of decoding the record), and the record's
// decoder tells whether its text is valid JSON: the first record that is
// not ends the table with its error. Each batch decodes into records and
// problems of its own, put together in the batches' order at the end, as
// one decoder taking the records in turn would have; the records are moved
// once, rather than each time a growing slice of a large table would move
// them. decodeTable returns once the decoders have ended; a panic in one (a
// check's) is raised again in the caller's.
func decodeTable[T any](d tableDecoder, out *[]T, id func(*T) string, missing func(*T) string) (err error) {
	c, err := d.sc.peek()
	if err != nil {
		return err
	}
	if c != '[' {
		raw, err := d.sc.value()
		switch {
		case err != nil:
			return err
		case string(raw) == "null":
			return nil
		}
		return fmt.Errorf("want an array, got %.40s", raw)
	}
	d.sc.pos++
	if c, err = d.sc.peek(); err != nil {
		return err
	}
	if c == ']' {
		d.sc.pos++
		return nil
	}
	decoders := 1
	if d.check == nil {
		decoders = min(runtime.GOMAXPROCS(0), maxDecoders)
	}
	full := make(chan *rawBatch, batchesInFlight)
	free := make(chan *rawBatch, batchesInFlight+decoders)
	for range batchesInFlight + decoders {
		free <- new(rawBatch)
	}
	var mu sync.Mutex // guards decoded
	var decoded []decodedBatch[T]
	panics := make(chan any, decoders) // each decoder's panic, or nil
	for range decoders {
		go func() {
			defer func() {
				p := recover()
				for b := range full { // after a panic, let the reader finish
					free <- b
				}
				panics <- p
			}()
			pk := newPacker()
			for b := range full {
				db := decodedBatch[T]{seq: b.seq, records: make([]T, 0, len(b.ends))}
				bd := d
				bd.p, bd.packer = &db.p, pk
				i := b.first
				for start, end := range b.records() {
					if db.err = decodeInto(bd, &db.records, id, missing, i, b.text[start:end]); db.err != nil {
						break
					}
					i++
				}
				b.reset()
				free <- b
				mu.Lock()
				decoded = append(decoded, db)
				mu.Unlock()
			}
		}()
	}
	defer func() {
		close(full)
		var raised any
		for range decoders {
			if p := <-panics; p != nil && raised == nil {
				raised = p
			}
		}
		if raised != nil {
			panic(raised)
		}
		slices.SortFunc(decoded, func(a, b decodedBatch[T]) int { return cmp.Compare(a.seq, b.seq) })
		parts := [][]T{*out}
		for _, db := range decoded {
			if db.err != nil { // before where the reader stopped, if it did
				err = db.err
				return
			}
			parts = append(parts, db.records)
			d.p.merge(&db.p)
		}
		// A new slice, even for a table named twice: the records
		// DecodeStateThen handed over are never written again.
		*out = slices.Concat(parts...)
	}()
	b, n, seq := <-free, 0, 0
	b.first, b.seq = n, seq
	for {
		raw, err := d.sc.value()
		if err != nil {
			full <- b
			return err
		}
		n++
		if b.add(raw) == recordsPerBatch {
			full <- b
			seq++
			b = <-free
			b.first, b.seq = n, seq
		}
		closed, err := d.sc.next(']')
		if err != nil || closed {
			full <- b
			return err
		}
	}
}

// decodedBatch is a batch of records decoded: the ones kept, and the
// problems of the others.
type decodedBatch[T any] struct {
	seq     int // the batch's place in its table
	records []T
	p       problems
	err     error // the first record that is not valid JSON, which ends the table
}

// maxDecoders bounds the decoders of a table: past it they would wait on
// the one reader.
const maxDecoders = 4

// batchesInFlight and recordsPerBatch size the hand-over of decodeTable:
// enough to keep both goroutines busy, little enough to hold few records.
const (
	batchesInFlight = 4
	recordsPerBatch = 256
)

// rawBatch is the text of a run of records, one after the other.
type rawBatch struct {
	seq   int // the batch's place in its table
	first int // the first record's place in its table
	text  []byte
	ends  []int
}

// add appends a record's text and returns how many the batch holds.
func (b *rawBatch) add(raw []byte) int {
	b.text = append(b.text, raw...)
	b.ends = append(b.ends, len(b.text))
	return len(b.ends)
}

// records yields where each record starts and ends in text.
func (b *rawBatch) records() iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		start := 0
		for _, end := range b.ends {
			if !yield(start, end) {
				return
			}
			start = end
		}
	}
}

func (b *rawBatch) reset() { b.text, b.ends = b.text[:0], b.ends[:0] }

// decodeInto decodes and checks record i of a table, whose text is raw, and
// appends it to *out, or adds its problem to d.p; it returns an error when
// raw is not valid JSON (syntaxError). The record decodes in
// place, at the end of *out, rather than on the heap of its own to be
// copied in (at 100,000 contacts with 400,000 tasks and notes, 500,000
// allocations and 120 MB of garbage).
func decodeInto[T any](d tableDecoder, out *[]T, id func(*T) string, missing func(*T) string, i int, raw []byte) error {
	*out = append(*out, *new(T))
	keep, err := decodeChecked(d, &(*out)[len(*out)-1], id, missing, i, raw)
	if !keep {
		*out = (*out)[:len(*out)-1]
	}
	return err
}

// decodeChecked decodes and checks record i of a table, whose text is raw,
// into *v, which is zero, and reports whether it is to keep; if not, it adds
// its problem to d.p, or returns an error when raw is not valid JSON.
func decodeChecked[T any](d tableDecoder, v *T, id func(*T) string, missing func(*T) string, i int, raw []byte) (bool, error) {
	err := decodeRecord(raw, v)
	if err != nil {
		if syntax := syntaxError(raw); syntax != nil {
			return false, fmt.Errorf("record %d: %w", i, syntax)
		}
	}
	var typeErr *json.UnmarshalTypeError
	var keyErr *jsonguard.KeyError
	switch {
	case errors.As(err, &keyErr):
		d.p.add(d.table, i, "", keyErr.Key, "is not a field (fields are named by their exact case: "+keyErr.Field+")")
		return false, nil
	case errors.As(err, &typeErr):
		d.p.add(d.table, i, "", typeErr.Field, "must be "+typeErr.Type.String()+", not "+typeErr.Value)
		return false, nil
	case err != nil:
		d.p.add(d.table, i, "", "", err.Error())
		return false, nil
	}
	key := id(v)
	if key == "" {
		d.p.add(d.table, i, "", "id", "is required")
		return false, nil
	}
	if missing != nil {
		if field := missing(v); field != "" {
			d.p.add(d.table, i, key, field, "is required")
			return false, nil
		}
	}
	if d.check != nil {
		if err := d.check(d.table, json.RawMessage(raw)); err != nil {
			var invalid *InvalidError
			if errors.As(err, &invalid) {
				d.p.add(d.table, i, key, invalid.Field, invalid.Reason)
			} else {
				d.p.add(d.table, i, key, "", err.Error())
			}
			return false, nil
		}
	}
	compactRecord(v, d.packer)
	return true, nil
}

// strictRecord is how decodeRecord first reads a record: names by their
// exact case, none unknown or given twice, strings valid UTF-8.
var strictRecord = jsonv2.RejectUnknownMembers(true)

// decodeRecord decodes one record of a state into v, as jsonguard does for
// a request body (its depth bounded, its strings valid UTF-8, its keys by
// their exact case). A record as the store exports it decodes in one strict
// pass (strictDecode); any other, which that pass refuses, is decoded again
// by guardedDecode, which says what is wrong with it, if anything.
func decodeRecord[T any](raw []byte, v *T) error {
	if strictDecode(raw, v) == nil {
		return nil
	}
	*v = *new(T)
	return guardedDecode(raw, v)
}

// strictDecode decodes with encoding/json/v2's decoder, several times faster
// than v1's, refusing what guardedDecode could refuse or read differently:
// a key in another case than its field's, an unknown key, a key twice,
// invalid UTF-8. The record types hold no value of open type (any, raw
// JSON), so a record that decodes is no deeper than its type. A fuzz test
// (FuzzStrictDecode) holds it to this: what it decodes, guardedDecode
// decodes to the same value.
func strictDecode[T any](raw []byte, v *T) error { return jsonv2.Unmarshal(raw, v, strictRecord) }

// guardedDecode is jsonguard's decoding of a request body: its depth
// bounded, its strings valid UTF-8, its keys by their exact case.
func guardedDecode[T any](raw []byte, v *T) error {
	if err := jsonguard.CheckDepth(raw, jsonguard.MaxDepth); err != nil {
		return err
	}
	if err := jsonguard.CheckUTF8(raw); err != nil {
		return err
	}
	return jsonguard.Unmarshal(raw, v)
}

// decodeOther decodes one more field of the state through State's own JSON
// mapping, so every table State declares is read.
func decodeOther(sc *stateScanner, st *State, key string) error {
	raw, err := sc.value()
	if err != nil {
		return err
	}
	if err := syntaxError(raw); err != nil {
		return err
	}
	field, err := json.Marshal(map[string]json.RawMessage{key: json.RawMessage(raw)})
	if err != nil {
		return err
	}
	return jsonguard.Unmarshal(field, st)
}
