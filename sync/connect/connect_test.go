package connect

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCallbackHandler(t *testing.T) {
	for _, tc := range []struct {
		query, code, err string
		status           int
	}{
		{query: "state=s1&code=abc", code: "abc", status: http.StatusOK},
		{query: "state=other&code=abc", status: http.StatusBadRequest},
		{query: "state=s1&error=access_denied&error_description=no", err: "consent refused: access_denied no", status: http.StatusBadRequest},
		{query: "state=s1", err: "no code", status: http.StatusBadRequest},
	} {
		codes := make(chan callback, 1)
		rec := httptest.NewRecorder()
		callbackHandler("/cb", "s1", codes).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/cb?"+tc.query, nil))
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d", tc.query, rec.Code, tc.status)
		}
		select {
		case cb := <-codes:
			if cb.code != tc.code || (tc.err == "") != (cb.err == nil) || (cb.err != nil && !strings.Contains(cb.err.Error(), tc.err)) {
				t.Errorf("%s: callback %+v, want code %q error %q", tc.query, cb, tc.code, tc.err)
			}
		default:
			if tc.code != "" || tc.err != "" {
				t.Errorf("%s: no callback taken", tc.query)
			}
		}
	}
}

func TestHighLevelRefusesARemoteRedirect(t *testing.T) {
	_, err := HighLevel(context.Background(), HighLevelOptions{RedirectURI: "https://example.com/cb"}, io.Discard)
	if !errors.Is(err, ErrNotLoopback) {
		t.Errorf("err = %v, want ErrNotLoopback", err)
	}
}
