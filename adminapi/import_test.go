package adminapi_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/adminapi"
)

type row struct {
	ID   string `json:"id"`
	Note string `json:"note,omitempty"`
}

type bigState struct {
	Rows  []row `json:"rows"`
	Empty []row `json:"empty,omitempty"`
	Any   []any `json:"any,omitempty"`
}

// rows are n rows, each of about 20+size bytes.
func rows(n, size int) []row {
	out := make([]row, n)
	for i := range out {
		out[i] = row{ID: strings.Repeat("r", 20), Note: "<&>" + strings.Repeat("n", size)}
	}
	return out
}

// TestClient_ImportStateStreamsTheBody: the state goes as it is encoded
// (no length known up front), in the bytes json.Marshal gives, and the
// answer is decoded.
func TestClient_ImportStateStreamsTheBody(t *testing.T) {
	t.Parallel()
	st := bigState{Rows: rows(20_000, 10)}
	want, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var length int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		length = r.ContentLength
		got, _ = io.ReadAll(r.Body)
		if r.Method != http.MethodPut || r.URL.Path != "/__admin/state" || r.URL.Query().Get("events") != "false" ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		io.WriteString(w, `{"locations":1,"contacts":20000}`)
	}))
	defer srv.Close()
	c := &adminapi.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	counts, err := c.ImportStateQuietly(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Contacts != 20_000 || counts.Locations != 1 {
		t.Errorf("counts %+v", counts)
	}
	if length != -1 {
		t.Errorf("Content-Length %d: the body was buffered, want it streamed (-1)", length)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("body of %d bytes differs from json.Marshal's %d", len(got), len(want))
	}
}

// TestClient_ImportStateEncodeFails: a state that cannot be encoded is an
// encoding error, not a request the twin answers.
func TestClient_ImportStateEncodeFails(t *testing.T) {
	t.Parallel()
	answered := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err == nil {
			answered = true
		}
	}))
	defer srv.Close()
	c := &adminapi.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	_, err := c.ImportState(t.Context(), bigState{Rows: rows(10_000, 10), Any: []any{"fine", make(chan int)}})
	if err == nil || !strings.Contains(err.Error(), "encode the body") {
		t.Fatalf("ImportState = %v, want an encoding error", err)
	}
	var apiErr *adminapi.Error
	if errors.As(err, &apiErr) || answered {
		t.Errorf("the twin read a whole body (%v): %v", answered, err)
	}
}

// TestClient_ImportStateRefusedUnread: a twin that refuses the import
// without reading the body (too large) is an *Error, and the encoding
// stops instead of waiting for a reader.
func TestClient_ImportStateRefusedUnread(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"statusCode":413,"message":"the state is too large"}`)
	}))
	defer srv.Close()
	c := &adminapi.Client{BaseURL: srv.URL, HTTPClient: srv.Client()}
	_, err := c.ImportState(t.Context(), bigState{Rows: rows(100_000, 200)}) // ~25 MB, past the socket's buffers
	var apiErr *adminapi.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusRequestEntityTooLarge || apiErr.Message != "the state is too large" {
		t.Fatalf("ImportState = %v, want the 413", err)
	}
}
