package mock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// listener is one of the server's listeners and the goroutine serving it.
type listener struct {
	url    string
	srv    *http.Server
	cancel context.CancelFunc // cancels every request's context
	done   chan error         // receives Serve's result
}

// serve listens on addr (127.0.0.1:0 when empty) and serves t's handler
// there. It sets t's URL before it serves: handlers read it (links).
func (s *Server) serve(addr string, t *Twin) (*listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mock: listen: %w", err)
	}
	// Requests' contexts derive from one the listener cancels when it
	// closes, so a hanging or slow fault ends at once instead of holding
	// the shutdown up.
	base, cancel := context.WithCancel(context.Background())
	l := &listener{
		url: "http://" + ln.Addr().String(),
		srv: &http.Server{Handler: t.handler,
			ReadHeaderTimeout: orDefault(s.opts.Timeouts.ReadHeader, DefaultReadHeaderTimeout),
			ReadTimeout:       orDefault(s.opts.Timeouts.Read, DefaultReadTimeout),
			IdleTimeout:       orDefault(s.opts.Timeouts.Idle, DefaultIdleTimeout),
			ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return base }},
		cancel: cancel,
		done:   make(chan error, 1),
	}
	t.url = l.url
	go func() { l.done <- l.srv.Serve(ln) }()
	return l, nil
}

// close stops the listener: it ends the requests that wait on their context
// (faults), lets the others finish until ctx ends, then cuts what is left.
func (l *listener) close(ctx context.Context) error {
	l.cancel()
	err := l.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, l.srv.Close())
	}
	if serveErr := <-l.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
