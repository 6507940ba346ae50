// Package journal records the requests a twin serves: a bounded ring buffer
// of exchanges (request and response, headers and bodies, secrets redacted)
// that tests and the admin API read back, newest first.
package journal

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// MaxBody is how many bytes of each body an entry keeps.
const MaxBody = 16 << 10

// Entry is one recorded exchange. Its header maps and strings are shared with
// the journal: treat an entry as read-only.
type Entry struct {
	ID              int64               `json:"id"`   // increasing from 1
	Time            time.Time           `json:"time"` // when the request arrived
	DurationMs      float64             `json:"durationMs"`
	Method          string              `json:"method"`
	Path            string              `json:"path"`
	Query           string              `json:"query,omitempty"`
	Operation       string              `json:"operation,omitempty"`
	Location        string              `json:"location,omitempty"` // the principal's location, when known
	Status          int                 `json:"status"`             // 0 when the connection was aborted without a response
	RequestHeaders  map[string][]string `json:"requestHeaders"`
	RequestBody     string              `json:"requestBody,omitempty"`
	ResponseHeaders map[string][]string `json:"responseHeaders"`
	ResponseBody    string              `json:"responseBody,omitempty"`
	Truncated       bool                `json:"truncated,omitempty"` // a body was cut at MaxBody
	// Fault is the id of the fault rule that fired on the exchange.
	Fault string `json:"fault,omitempty"`
	// HandlerStatus is the status the handler answered when a fault came
	// after it (an effect After the write, a truncate): the client saw
	// Status, or nothing, while the handler's change was committed.
	HandlerStatus int `json:"handlerStatus,omitempty"`

	// pending marks an entry stored as captured: its secrets are redacted
	// when it is first read, off the request path.
	pending bool
	// responseParts, when not nil, is the response body, up to MaxBody,
	// as the parts it was written from, joined when the entry settles.
	responseParts pipeline.JSONParts
	// responseHeader is, in a pending entry of the middleware's, the
	// response header as sent; ResponseHeaders is nil until it settles.
	responseHeader headerSnapshot
	// requestBody, when not nil, is the request body, up to MaxBody, as
	// the middleware captured it (bytes that never change), made a string
	// when the entry settles: the redaction copies it then anyway.
	requestBody []byte
}

// settle redacts a pending entry in place and cuts its bodies at MaxBody.
func (e *Entry) settle() {
	if !e.pending {
		return
	}
	e.pending = false
	e.RequestHeaders = redactHeaders(e.RequestHeaders)
	if e.ResponseHeaders == nil { // the middleware's (Record's is never nil)
		e.ResponseHeaders, e.responseHeader = e.responseHeader.header(), headerSnapshot{}
	}
	e.ResponseHeaders = redactHeaders(e.ResponseHeaders)
	e.Query = RedactURLPasswords(redactForm(e.Query))
	var cut bool
	req := []byte(e.RequestBody)
	if e.requestBody != nil {
		req, e.requestBody = e.requestBody, nil
	}
	e.RequestBody, cut = redactBody(contentType(e.RequestHeaders), req)
	e.Truncated = e.Truncated || cut
	resp := []byte(e.ResponseBody)
	if e.responseParts != nil {
		resp, e.responseParts = e.responseParts.AppendTo(make([]byte, 0, e.responseParts.Len())), nil
	}
	e.ResponseBody, cut = redactBody(contentType(e.ResponseHeaders), resp)
	e.Truncated = e.Truncated || cut
}

// brief returns e without its headers and bodies, its query redacted.
func (e *Entry) brief() Entry {
	b := *e
	b.RequestHeaders, b.ResponseHeaders, b.RequestBody, b.ResponseBody, b.responseParts, b.requestBody = nil, nil, "", "", nil, nil
	b.responseHeader = headerSnapshot{}
	if b.pending {
		b.Query = RedactURLPasswords(redactForm(b.Query))
		b.pending = false
	}
	return b
}

// Filter selects entries. Its zero value selects them all.
type Filter struct {
	Method    string // case-insensitive; "": any
	Operation string // "": any
	// Path is an exact path, or a prefix when it ends with *.
	Path   string
	Status int       // exact; 0: any
	Since  time.Time // entries at or after; zero: any
	Limit  int       // newest first, at most Limit (0 or less: all)
	// After keeps the entries with a greater id (0: any).
	After int64
	// Twin is TwinHighLevel or TwinM360 ("": any), told by the path:
	// every Marketing 360 path is under /v1.
	Twin string
	// Location is the principal's location, exact ("": any).
	Location string
	// Brief leaves the headers and bodies out of the entries, but for those
	// of 4xx answers (whose bodies say what refused them): it spares the
	// redaction of the rest, for readers that show the entries as a list.
	Brief bool
}

// The twins an entry can belong to (Filter.Twin, TwinOf).
const (
	TwinHighLevel = "highlevel"
	TwinM360      = "m360"
)

// TwinOf tells which twin served path: Marketing 360 serves everything under
// /v1, HighLevel nothing.
func TwinOf(path string) string {
	if path == "/v1" || strings.HasPrefix(path, "/v1/") {
		return TwinM360
	}
	return TwinHighLevel
}

func (f *Filter) match(e *Entry) bool {
	if f.Method != "" && !strings.EqualFold(f.Method, e.Method) {
		return false
	}
	if f.Operation != "" && f.Operation != e.Operation {
		return false
	}
	if f.Path != "" {
		if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
			if !strings.HasPrefix(e.Path, prefix) {
				return false
			}
		} else if f.Path != e.Path {
			return false
		}
	}
	if f.Status != 0 && f.Status != e.Status {
		return false
	}
	if !f.Since.IsZero() && e.Time.Before(f.Since) {
		return false
	}
	if f.Location != "" && f.Location != e.Location {
		return false
	}
	return f.Twin == "" || f.Twin == TwinOf(e.Path)
}

// Journal is a bounded ring buffer of entries, safe for concurrent use.
type Journal struct {
	clock clock.Clock
	// size is len(ring), kept apart for Size, which every request asks:
	// it takes no lock.
	size atomic.Int64

	mu    sync.Mutex // guards the fields below
	ring  []Entry    // len(ring) is the size
	start int        // index of the oldest entry
	n     int        // entries held
	next  int64      // last id assigned
	subs  []chan struct{}
}

// MaxSubscribers is how many subscriptions (Subscribe) a journal holds at once.
const MaxSubscribers = 16

// ErrTooManySubscribers is returned by Subscribe when MaxSubscribers are held.
var ErrTooManySubscribers = errors.New("journal: too many subscribers")

// Subscribe returns a channel that is signalled after entries are added (one
// signal stands for any number of entries since the last one was taken: read
// them with Filter.After), and a function that ends the subscription. The
// signal never blocks the request that adds the entry.
func (j *Journal) Subscribe() (<-chan struct{}, func(), error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.subs) >= MaxSubscribers {
		return nil, nil, ErrTooManySubscribers
	}
	c := make(chan struct{}, 1)
	j.subs = append(j.subs, c)
	var once sync.Once
	return c, func() {
		once.Do(func() {
			j.mu.Lock()
			defer j.mu.Unlock()
			for i, s := range j.subs {
				if s == c {
					j.subs = append(j.subs[:i], j.subs[i+1:]...)
					break
				}
			}
		})
	}, nil
}

// signal tells every subscriber that an entry was added. j.mu must be held.
func (j *Journal) signal() {
	for _, c := range j.subs {
		select {
		case c <- struct{}{}:
		default: // a signal is pending already
		}
	}
}

// New returns a journal that keeps the newest size entries and tells the
// time with clk (clock.Real when nil). A size of 0 or less records nothing;
// one over MaxSize keeps MaxSize.
func New(size int, clk clock.Clock) *Journal {
	if clk == nil {
		clk = clock.Real{}
	}
	j := &Journal{clock: clk}
	j.Resize(size)
	return j
}

// Record stores e: it stamps it with the clock's time when it has none,
// assigns it the next id and evicts the oldest entry when the journal is
// full. Its secrets are redacted and its bodies cut at MaxBody before anyone
// can read it (Entries), as for the middleware's entries.
func (j *Journal) Record(e Entry) {
	if j.Size() == 0 {
		return
	}
	if e.Time.IsZero() {
		e.Time = j.clock.Now()
	}
	e.RequestHeaders = cloneHeader(e.RequestHeaders)
	e.ResponseHeaders = cloneHeader(e.ResponseHeaders)
	e.pending = true
	j.add(e)
}

func cloneHeader(h map[string][]string) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, v := range h {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// add stores e.
func (j *Journal) add(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	size := len(j.ring)
	if size == 0 {
		return
	}
	j.next++
	e.ID = j.next
	defer j.signal()
	if j.n < size {
		j.ring[(j.start+j.n)%size] = e
		j.n++
		return
	}
	j.ring[j.start] = e
	j.start = (j.start + 1) % size
}

// LastID returns the id of the newest entry ever added (0: none yet), held
// or not.
func (j *Journal) LastID() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.next
}

// Entry returns the entry with id, if the journal still holds it.
func (j *Journal) Entry(id int64) (Entry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	// The ids held are consecutive, the newest being j.next.
	i := j.next - id
	if id <= 0 || i < 0 || i >= int64(j.n) {
		return Entry{}, false
	}
	e := j.at(int(i))
	e.settle()
	return *e, true
}

// at returns the i-th newest entry (0 is the newest). j.mu must be held.
func (j *Journal) at(i int) *Entry {
	return &j.ring[(j.start+j.n-1-i)%len(j.ring)]
}

// Entries returns the entries f selects, newest first.
func (j *Journal) Entries(f Filter) []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Entry
	for i := 0; i < j.n; i++ {
		if f.Limit > 0 && len(out) == f.Limit {
			break
		}
		e := j.at(i)
		if e.ID <= f.After {
			break // newest first: the rest are older
		}
		if !f.match(e) {
			continue
		}
		if f.Brief && (e.Status < 400 || e.Status >= 500) {
			out = append(out, e.brief())
			continue
		}
		e.settle()
		out = append(out, *e)
	}
	return out
}

// Count returns how many entries Entries(f) would return.
func (j *Journal) Count(f Filter) int {
	j.mu.Lock()
	defer j.mu.Unlock()
	count := 0
	for i := 0; i < j.n; i++ {
		if f.Limit > 0 && count == f.Limit {
			break
		}
		e := j.at(i)
		if e.ID <= f.After {
			break
		}
		if f.match(e) {
			count++
		}
	}
	return count
}

// Clear drops every entry. Ids keep increasing from where they were.
func (j *Journal) Clear() {
	j.mu.Lock()
	defer j.mu.Unlock()
	clear(j.ring)
	j.start, j.n = 0, 0
}

// MaxSize is the most entries a journal keeps: each holds up to 2*MaxBody
// of bodies, so this bounds it to a few GB.
const MaxSize = 100_000

// Resize changes how many entries the journal keeps, keeping the newest that
// fit. A size of 0 or less drops every entry and stops recording; one over
// MaxSize keeps MaxSize.
func (j *Journal) Resize(size int) {
	size = min(max(size, 0), MaxSize)
	j.mu.Lock()
	defer j.mu.Unlock()
	if size == len(j.ring) {
		return
	}
	keep := min(j.n, size)
	ring := make([]Entry, size)
	for i := range keep {
		// Oldest kept first.
		ring[i] = *j.at(keep - 1 - i)
	}
	j.ring, j.start, j.n = ring, 0, keep
	j.size.Store(int64(size))
}

// Size returns how many entries the journal keeps at most.
func (j *Journal) Size() int { return int(j.size.Load()) }

// Len returns how many entries the journal holds.
func (j *Journal) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.n
}

// contentType returns h's Content-Type, whatever the case of its name.
func contentType(h map[string][]string) string {
	if vs := h["Content-Type"]; len(vs) > 0 {
		return vs[0]
	}
	for k, vs := range h {
		if strings.EqualFold(k, "Content-Type") && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}
