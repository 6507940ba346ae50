package pipeline

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxAccepted is how many accepted requests an acceptedMemo remembers;
// maxAcceptedKey the longest key it keeps.
const (
	maxAccepted    = 4096
	maxAcceptedKey = 2048
)

// acceptedMemo remembers the requests kin-openapi has accepted, by all that
// its verdict on them depends on (key): the operation, the path, the query
// and the operation's header and cookie parameters. The spec does not
// change and the validation sets no defaults, so the same request again
// gets the same verdict: it is accepted without validating it once more (a
// client polling the same page, say). It remembers two kinds of verdict,
// whose keys differ from their first byte: the whole verdict on a
// bodiless request (key), and the verdict on the parameters alone of a
// request whose body the pipeline judges itself (paramsKey: the same
// parameters again with another body, as a client creating contacts
// sends). Refusals are not remembered: kin-openapi words each one. Each
// kind has a set of its own, which starts again empty when it is full: a
// write load of many records (a PUT to each of 100,000 contacts) does not
// wipe the reads' verdicts.
type acceptedMemo struct {
	// params are, by operationId, the header and cookie parameters of the
	// operations.
	params map[string]*inputParams
	mu     sync.RWMutex
	// seen are the keys remembered: whole verdicts, then parameters'.
	seen [2]map[string]struct{}
}

// inputParams are the parameters of an operation that are read from the
// headers.
type inputParams struct {
	headers []string // canonical header names
	cookies bool     // a cookie parameter: the Cookie header counts
	// bodiless is an operation without a request body: its whole verdict
	// may be remembered (with one, kin-openapi would judge its absence).
	bodiless bool
}

// The first bytes of the two kinds of key (see acceptedMemo).
const (
	wholeVerdict  = 'W'
	paramsVerdict = 'P'
)

func newAcceptedMemo() *acceptedMemo {
	return &acceptedMemo{params: map[string]*inputParams{}, seen: [2]map[string]struct{}{{}, {}}}
}

// set is the set of seen that key (of a kind of verdict) belongs to.
func (m *acceptedMemo) set(key []byte) map[string]struct{} {
	if len(key) > 0 && key[0] == paramsVerdict {
		return m.seen[1]
	}
	return m.seen[0]
}

// prepare notes the parameters of the operation op (on the path item
// item), when its verdicts may be remembered.
func (m *acceptedMemo) prepare(id string, item *openapi3.PathItem, op *openapi3.Operation) {
	if item == nil {
		return
	}
	in := &inputParams{bodiless: op.RequestBody == nil}
	for _, ps := range []openapi3.Parameters{item.Parameters, op.Parameters} {
		for _, ref := range ps {
			switch p := ref.Value; {
			case p == nil:
				return // unresolved: never remembered
			case p.In == openapi3.ParameterInHeader:
				in.headers = append(in.headers, http.CanonicalHeaderKey(p.Name))
			case p.In == openapi3.ParameterInCookie:
				in.cookies = true
			}
		}
	}
	m.params[id] = in
}

// The keys are built in a buffer of the caller's (keyRoom bytes on its
// stack takes a common one) and made strings only when remembered: a
// lookup of string(key) in a map copies nothing.

// keyRoom is room enough for the key of a request without long headers or
// query.
const keyRoom = 256

// key appends to buf the key of r's whole verdict on the operation id;
// false when it is not remembered (a body, an operation that takes one, a
// long key).
func (m *acceptedMemo) key(buf []byte, id string, r *http.Request) ([]byte, bool) {
	in := m.params[id]
	if in == nil || !in.bodiless || (r.Body != nil && r.Body != http.NoBody) {
		return buf, false
	}
	return in.appendKey(buf, wholeVerdict, id, r)
}

// paramsKey appends to buf the key of the verdict on r's parameters alone
// (its body left out of the validation) on the operation id; false when it
// is not remembered (a long key).
func (m *acceptedMemo) paramsKey(buf []byte, id string, r *http.Request) ([]byte, bool) {
	in := m.params[id]
	if in == nil {
		return buf, false
	}
	return in.appendKey(buf, paramsVerdict, id, r)
}

// appendKey appends to b the key of kind of r's verdict on the operation
// id, whose parameters in are.
func (in *inputParams) appendKey(b []byte, kind byte, id string, r *http.Request) ([]byte, bool) {
	start := len(b)
	add := func(s string) { // length first: no two inputs make one key
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	b = append(b, kind)
	add(id)
	add(r.URL.Path)
	add(r.URL.RawPath)
	add(r.URL.RawQuery)
	for _, h := range in.headers {
		for _, v := range r.Header[h] {
			add(v)
		}
		b = append(b, ';') // the end of the header's values
	}
	if in.cookies {
		for _, v := range r.Header["Cookie"] {
			add(v)
		}
	}
	if len(b)-start > maxAcceptedKey {
		return b, false
	}
	return b, true
}

// accepted tells whether the request of key was accepted before.
func (m *acceptedMemo) accepted(key []byte) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.set(key)[string(key)]
	return ok
}

// accept remembers that the request of key was accepted.
func (m *acceptedMemo) accept(key []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen := m.set(key)
	if len(seen) >= maxAccepted {
		clear(seen)
	}
	seen[string(key)] = struct{}{}
}
