package journal

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// Middleware records every exchange that passes through it. It belongs first
// in pipeline.Config.Outer, so it sees the request before any other stage
// and the response after all of them.
//
// It reads the request body (up to pipeline.MaxBodyBytes) and hands the later
// stages a body that replays it, followed by whatever was not read, so they
// still see the whole body and still enforce their own limits. It records
// the entry once the chain returns, and also when a later stage panics: with
// http.ErrAbortHandler (a reset connection) the status is the one written so
// far, 0 if none; with any other value it is 500 when nothing was written,
// since the pipeline then answers 500. The panic goes on after recording.
func (j *Journal) Middleware() pipeline.Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if j.Size() == 0 {
				next.ServeHTTP(w, r)
				return
			}
			start := j.clock.Now()
			body := captureBody(r)
			rec := &recorder{rw: w, x: pipeline.ExchangeFrom(r.Context())}
			defer func() {
				v := recover()
				status := rec.status
				switch {
				case v == nil && status == 0 && !rec.hijacked:
					status = http.StatusOK // net/http answers 200 for a handler that wrote nothing
				case v != nil && v != http.ErrAbortHandler && status == 0:
					status = http.StatusInternalServerError
				}
				reqBody, reqPartial := body.kept()
				j.add(j.entry(r, start, status, rec, reqBody, reqPartial))
				if v != nil {
					panic(v)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// entry builds the entry of an exchange as captured; it is redacted when
// first read (Entry.settle), which keeps the request path cheap.
func (j *Journal) entry(r *http.Request, start time.Time, status int, rec *recorder, reqBody []byte, reqPartial bool) Entry {
	e := Entry{
		Time:       start,
		DurationMs: float64(j.clock.Now().Sub(start)) / float64(time.Millisecond),
		Method:     r.Method,
		Path:       r.URL.Path,
		Query:      r.URL.RawQuery,
		Status:     status,
		// The request's own header, not a copy: the exchange is over, and
		// nothing changes a request's header once its handler has returned
		// (the redaction makes the entry's own copy when it settles).
		RequestHeaders: r.Header,
		Truncated:      reqPartial || rec.truncated,
		pending:        true,
	}
	if x := pipeline.ExchangeFrom(r.Context()); x != nil {
		e.Operation = x.OperationID()
		e.Fault, e.HandlerStatus = x.Fault, x.HandlerStatus
		if x.Principal != nil {
			e.Location = x.Principal.LocationID
		}
	}
	// The snapshot taken when the header was written is the entry's own,
	// made a map when the entry settles.
	e.responseHeader = rec.header
	if !rec.sent {
		e.responseHeader = snapshot(rec.rw.Header()) // nothing written: what the handler had set
	}
	switch {
	case len(reqBody) > MaxBody:
		// A copy of what is kept, not a part of the whole body.
		e.requestBody, e.Truncated = slices.Clone(reqBody[:MaxBody]), true
	case len(reqBody) > 0:
		// The body as read (captureBody): its bytes never change.
		e.requestBody = reqBody
	}
	if rec.parts != nil {
		e.responseParts = rec.parts
	} else {
		e.ResponseBody = rec.body.String()
	}
	return e
}

// captureBody arranges for r's body, up to pipeline.MaxBodyBytes, to be
// kept, and returns the capture, which tells what was kept.
//
// Mostly it reads the body at once and replaces it with one that replays
// what was read (a pipeline.Body when that is the whole body), then the rest
// of the original. A client that sent
// "Expect: 100-continue" waits for the server's go-ahead, which net/http
// gives at the first read of the body: that body is kept as the later
// stages read it, so a request refused before (a bad token, say) is answered
// without its body ever being asked for.
func captureBody(r *http.Request) capture {
	if r.Body == nil || r.Body == http.NoBody {
		return capture{}
	}
	if strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		tee := &teeBody{ReadCloser: r.Body}
		r.Body = tee
		return capture{tee: tee}
	}
	data, err := readBody(r)
	if err == nil && len(data) <= pipeline.MaxBodyBytes {
		// All of it: the later stages take these bytes.
		r.Body = pipeline.NewBody(data, r.Body)
		return capture{data: data}
	}
	rest := io.Reader(r.Body)
	if err != nil {
		rest = errReader{err}
	}
	r.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(data), rest), Closer: r.Body}
	if len(data) > pipeline.MaxBodyBytes {
		return capture{data: data[:pipeline.MaxBodyBytes], over: true}
	}
	return capture{data: data}
}

// capture is what captureBody keeps of a body: data, read at once, or what
// tee keeps as the later stages read it. A value, not a closure over them,
// which would be made on the heap.
type capture struct {
	data []byte
	over bool // the body went on past data
	tee  *teeBody
}

// kept returns what was kept of the body and whether it went on past it.
func (c capture) kept() ([]byte, bool) {
	if c.tee != nil {
		return c.tee.kept.Bytes(), c.tee.over
	}
	return c.data, c.over
}

// exactBody is the largest declared length readBody reads into a slice
// made at once: past it, the slice grows with what arrives, so that a
// client that declares a large body and sends nothing holds no more memory
// than it sent.
const exactBody = 64 << 10

// readBody reads r's body as io.ReadAll reads it, up to
// pipeline.MaxBodyBytes and one byte more. A body of a declared length up to
// exactBody is read into a slice of its size (with room for the byte that
// shows it ended), not one io.ReadAll grows.
func readBody(r *http.Request) ([]byte, error) {
	n := int(r.ContentLength)
	if r.ContentLength < 0 || r.ContentLength > exactBody {
		return io.ReadAll(io.LimitReader(r.Body, pipeline.MaxBodyBytes+1))
	}
	data := make([]byte, 0, n+1)
	for len(data) <= n {
		k, err := r.Body.Read(data[len(data) : n+1])
		data = data[:len(data)+k]
		if err == io.EOF { // as io.ReadAll: a wrapped one is an error
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
	// More than it declared (a body of this process's own making): the rest
	// as a body of unknown length.
	rest, err := io.ReadAll(io.LimitReader(r.Body, pipeline.MaxBodyBytes-int64(n)))
	return append(data, rest...), err
}

// teeBody keeps up to pipeline.MaxBodyBytes of what is read through it.
type teeBody struct {
	io.ReadCloser
	kept bytes.Buffer
	over bool // read past what it keeps
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	room := pipeline.MaxBodyBytes - t.kept.Len()
	t.kept.Write(p[:min(n, room)])
	if n > room {
		t.over = true
	}
	return n, err
}

type replayBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// recorder passes a response through to the client, keeping its status, its
// headers as sent and up to MaxBody of its body: in body, or, when the body
// is a pipeline.JSONParts written whole, as the parts that make up its start
// (which saves copying it on each request; the entry joins them when first
// read).
type recorder struct {
	rw        http.ResponseWriter
	x         *pipeline.Exchange // nil outside a pipeline
	status    int
	header    headerSnapshot  // taken when the header was written (sent)
	sent      bool            // header holds the snapshot
	body      strings.Builder // its String does not copy
	parts     pipeline.JSONParts
	truncated bool
	hijacked  bool
}

func (rec *recorder) Header() http.Header { return rec.rw.Header() }

func (rec *recorder) WriteHeader(code int) {
	if rec.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.status = code
		rec.header, rec.sent = snapshot(rec.rw.Header()), true
	}
	rec.rw.WriteHeader(code)
}

func (rec *recorder) Write(p []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
		rec.header, rec.sent = snapshot(rec.rw.Header()), true
	}
	rec.keep(p)
	return rec.rw.Write(p)
}

// keep keeps what it may of p, the next bytes of the body.
func (rec *recorder) keep(p []byte) {
	if rec.parts == nil && rec.body.Len() == 0 && !rec.truncated {
		if parts, ok := rec.x.PartsOf(p); ok {
			if rec.parts = partsPrefix(parts, MaxBody); rec.parts != nil {
				rec.truncated = len(p) > MaxBody
				return
			}
		}
	}
	if rec.parts != nil {
		// A second write after a body of parts: the parts become bytes.
		rec.body.Grow(min(MaxBody, rec.parts.Len()+len(p)))
		for _, b := range rec.parts {
			rec.body.Write(b)
		}
		rec.parts = nil
	}
	if room := MaxBody - rec.body.Len(); room > 0 {
		if rec.body.Len() == 0 {
			rec.body.Grow(min(room, len(p)))
		}
		rec.body.Write(p[:min(room, len(p))])
		if len(p) > room {
			rec.truncated = true
		}
	} else if len(p) > 0 {
		rec.truncated = true
	}
}

// partsPrefix returns the parts that make up the first n bytes of parts'
// body, the last one cut; nil when those parts are over 2n bytes in all
// (before the cut), so that an entry never holds on to much more than it
// shows: such a body is copied instead.
func partsPrefix(parts pipeline.JSONParts, n int) pipeline.JSONParts {
	held, k := 0, 0
	for k < len(parts) && held < n {
		held += len(parts[k])
		k++
	}
	if held > 2*n {
		return nil
	}
	out := slices.Clone(parts[:k])
	if held > n {
		last := out[len(out)-1]
		out[len(out)-1] = last[:len(last)-(held-n)]
	}
	return out
}

// headerSnapshot is a header as it was at one moment, flat: one
// allocation where a copy of the map (http.Header.Clone) is a map and a
// slice, several times the size. The entry makes the map when it settles,
// off the request path.
type headerSnapshot struct {
	pairs []string // each value after its key, the key given again for each
	bare  []string // the keys without values, which a map shows too
}

// snapshot returns h's keys and values as they are now.
func snapshot(h http.Header) headerSnapshot {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	s := headerSnapshot{pairs: make([]string, 0, 2*n)}
	for k, vs := range h {
		if len(vs) == 0 {
			s.bare = append(s.bare, k)
		}
		for _, v := range vs {
			s.pairs = append(s.pairs, k, v)
		}
	}
	return s
}

// header returns the header s holds; never nil, as a response's header is
// never nil.
func (s headerSnapshot) header() map[string][]string {
	h := make(map[string][]string, len(s.pairs)/2+len(s.bare))
	for i := 0; i < len(s.pairs); i += 2 {
		h[s.pairs[i]] = append(h[s.pairs[i]], s.pairs[i+1])
	}
	for _, k := range s.bare {
		h[k] = nil
	}
	return h
}

// Unwrap lets http.ResponseController reach the client's writer.
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.rw }

// FlushError flushes the client's writer, as http.ResponseController does.
func (rec *recorder) FlushError() error {
	header := snapshot(rec.rw.Header()) // before the flush sends it
	err := http.NewResponseController(rec.rw).Flush()
	if err == nil && rec.status == 0 {
		rec.status, rec.header, rec.sent = http.StatusOK, header, true
	}
	return err
}

// Flush flushes the client's writer when it can.
func (rec *recorder) Flush() { _ = rec.FlushError() }

// Hijack hands over the client's connection when its writer allows it.
func (rec *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(rec.rw).Hijack()
	if err == nil {
		rec.hijacked = true
	}
	return conn, brw, err
}
