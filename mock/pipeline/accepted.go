package pipeline

import (
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxAccepted is how many accepted requests an acceptedMemo remembers;
// maxAcceptedKey the longest key it keeps.
const (
	maxAccepted    = 4096
	maxAcceptedKey = 2048
)

// acceptedMemo remembers the bodiless requests kin-openapi has accepted, by
// all that its verdict on them depends on (acceptedKey): the operation, the
// path, the query and the operation's header and cookie parameters. The
// spec does not change and the validation sets no defaults, so the same
// request again gets the same verdict: it is accepted without validating it
// once more (a client polling the same page, say). Refusals are not
// remembered: kin-openapi words each one. Full, it starts again empty.
type acceptedMemo struct {
	// params are, by operationId, the header and cookie parameters of the
	// operations whose verdicts are remembered: those without a request
	// body (whose absence kin-openapi would judge).
	params map[string]*inputParams
	mu     sync.RWMutex
	seen   map[string]struct{}
}

// inputParams are the parameters of an operation that are read from the
// headers.
type inputParams struct {
	headers []string // canonical header names
	cookies bool     // a cookie parameter: the Cookie header counts
}

func newAcceptedMemo() *acceptedMemo {
	return &acceptedMemo{params: map[string]*inputParams{}, seen: map[string]struct{}{}}
}

// prepare notes the parameters of the operation op (on the path item
// item), when its verdicts may be remembered.
func (m *acceptedMemo) prepare(id string, item *openapi3.PathItem, op *openapi3.Operation) {
	if item == nil || op.RequestBody != nil {
		return
	}
	in := &inputParams{}
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

// key is the key of r's verdict on the operation id; false when r's verdict
// is not remembered (a body, an operation that takes one, a long key).
func (m *acceptedMemo) key(id string, r *http.Request) (string, bool) {
	in := m.params[id]
	if in == nil || (r.Body != nil && r.Body != http.NoBody) {
		return "", false
	}
	var b strings.Builder
	add := func(s string) { // length first: no two inputs make one key
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	add(id)
	add(r.URL.Path)
	add(r.URL.RawPath)
	add(r.URL.RawQuery)
	for _, h := range in.headers {
		for _, v := range r.Header[h] {
			add(v)
		}
		b.WriteByte(';') // the end of the header's values
	}
	if in.cookies {
		for _, v := range r.Header["Cookie"] {
			add(v)
		}
	}
	if b.Len() > maxAcceptedKey {
		return "", false
	}
	return b.String(), true
}

// accepted tells whether the request of key was accepted before.
func (m *acceptedMemo) accepted(key string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.seen[key]
	return ok
}

// accept remembers that the request of key was accepted.
func (m *acceptedMemo) accept(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.seen) >= maxAccepted {
		clear(m.seen)
	}
	m.seen[key] = struct{}{}
}
