package faults

import (
	"bytes"
	"net"
	"net/http"
	"strconv"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// apply carries out a fired rule's effect. An effect After the write first
// runs the rest of the chain, so the handler commits, and throws its answer
// away.
func (in *Injector) apply(f fired, x *pipeline.Exchange, next http.Handler, w http.ResponseWriter, r *http.Request) {
	if x != nil {
		x.Fault = f.id
	}
	if f.effect.After && f.effect.Kind != KindTruncate {
		buf := serveBuffered(next, r)
		if x != nil {
			// The client has been sent nothing yet.
			x.Status, x.HandlerStatus = 0, buf.status
		}
	}
	switch f.effect.Kind {
	case KindLatency:
		if err := in.sleep(r.Context(), f.delay); err != nil {
			// The client is gone (or the server is going): answer nothing.
			in.log.DebugContext(r.Context(), "fault latency cut short", logkey.Rule, f.id, logkey.Err, err)
			panic(http.ErrAbortHandler)
		}
		next.ServeHTTP(w, r)
	case KindError:
		writeError(f.effect, x, w)
	case KindReset:
		abort(w, true)
	case KindHang:
		<-r.Context().Done()
		panic(http.ErrAbortHandler)
	case KindTruncate:
		truncate(x, next, w, r)
	default:
		// Validate admits no other kind.
		next.ServeHTTP(w, r)
	}
}

func writeError(e Effect, x *pipeline.Exchange, w http.ResponseWriter) {
	body := []byte(e.Body)
	if len(body) == 0 {
		body = defaultBody(e.Status)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	if x != nil {
		x.Status = e.Status
	}
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}

// abort ends the exchange without a proper response: it hijacks the
// connection and closes it, after setting SO_LINGER to 0 when reset is true so
// that the peer sees a reset rather than an end of file. A writer that cannot
// be hijacked (HTTP/2, an in-process recorder) is aborted with
// http.ErrAbortHandler.
func abort(w http.ResponseWriter, reset bool) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if !reset && buf != nil {
		_ = buf.Flush()
	}
	if reset {
		c := conn
		if tc, ok := c.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
			c = tc.NetConn()
		}
		if tcp, ok := c.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// truncate runs the rest of the chain into a buffer, sends its status and
// headers with the full Content-Length but only the first half of the body,
// and drops the connection.
func truncate(x *pipeline.Exchange, next http.Handler, w http.ResponseWriter, r *http.Request) {
	buf := serveBuffered(next, r)
	h := w.Header()
	for k, vs := range buf.header {
		h[k] = vs
	}
	body := buf.body.Bytes()
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if x != nil {
		x.Status, x.HandlerStatus = buf.status, buf.status
	}
	w.WriteHeader(buf.status)
	_, _ = w.Write(body[:len(body)/2])
	_ = http.NewResponseController(w).Flush()
	abort(w, false)
}

// serveBuffered runs the rest of the chain into a buffer and returns what it
// answered.
func serveBuffered(next http.Handler, r *http.Request) *bufferWriter {
	buf := &bufferWriter{header: http.Header{}}
	next.ServeHTTP(buf, r)
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	return buf
}

// bufferWriter is a ResponseWriter that keeps what is written.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(status int) {
	if b.status == 0 && status >= 200 {
		b.status = status
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush does nothing: the body is sent when the chain is done.
func (b *bufferWriter) Flush() {}
