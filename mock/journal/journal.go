// Package journal records the requests a twin serves: a bounded ring buffer
// of exchanges (request and response, headers and bodies, secrets redacted)
// that tests and the admin API read back, newest first.
package journal

import (
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
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
}

// settle redacts a pending entry in place and cuts its bodies at MaxBody.
func (e *Entry) settle() {
	if !e.pending {
		return
	}
	e.pending = false
	e.RequestHeaders = redactHeaders(e.RequestHeaders)
	e.ResponseHeaders = redactHeaders(e.ResponseHeaders)
	e.Query = RedactURLPasswords(redactForm(e.Query))
	var cut bool
	e.RequestBody, cut = redactBody(contentType(e.RequestHeaders), []byte(e.RequestBody))
	e.Truncated = e.Truncated || cut
	e.ResponseBody, cut = redactBody(contentType(e.ResponseHeaders), []byte(e.ResponseBody))
	e.Truncated = e.Truncated || cut
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
	return true
}

// Journal is a bounded ring buffer of entries, safe for concurrent use.
type Journal struct {
	clock clock.Clock

	mu    sync.Mutex // guards the fields below
	ring  []Entry    // len(ring) is the size
	start int        // index of the oldest entry
	n     int        // entries held
	next  int64      // last id assigned
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
	if j.n < size {
		j.ring[(j.start+j.n)%size] = e
		j.n++
		return
	}
	j.ring[j.start] = e
	j.start = (j.start + 1) % size
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
		if e := j.at(i); f.match(e) {
			e.settle()
			out = append(out, *e)
		}
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
		if f.match(j.at(i)) {
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
}

// Size returns how many entries the journal keeps at most.
func (j *Journal) Size() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.ring)
}

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
