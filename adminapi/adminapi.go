// Package adminapi is a client of the twins' admin API (openapi/admin.yaml),
// served under /__admin on each twin's listener: every operation but the
// webhooks overview (GET /__admin/webhooks) and the keys as PEM files, which
// WebhookKeys returns. It imports nothing of the twin: the state, whose
// shape is the twin's own, travels as whatever value the caller encodes and
// decodes.
package adminapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/internal/jsonstream"
)

// Client calls one twin's admin API. Its zero value is not usable: set
// BaseURL.
type Client struct {
	// BaseURL is the twin's base URL (http://127.0.0.1:4010), without
	// /__admin.
	BaseURL string
	// Token is sent as a bearer token; "" sends none (a twin without an
	// admin token does not check it).
	Token string
	// HTTPClient sends the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Error is an answer outside 2xx: its status and the admin API's message.
type Error struct {
	Method, Path string
	StatusCode   int
	Message      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("adminapi: %s %s: %d %s: %s", e.Method, e.Path, e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// do sends one request with in as its JSON body (nil for none) and decodes
// a 2xx answer into out (nil to drop it).
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	res, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	return decodeAnswer(res, method, path, out)
}

// decodeAnswer decodes the 2xx answer res into out (nil to drop it) and
// closes its body.
func decodeAnswer(res *http.Response, method, path string, out any) error {
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("adminapi: %s %s: decode the answer: %w", method, path, err)
	}
	return nil
}

// call sends one request and decodes its 2xx answer into a T.
func call[T any](ctx context.Context, c *Client, method, path string, query url.Values, in any) (T, error) {
	var out T
	err := c.do(ctx, method, path, query, in, &out)
	return out, err
}

// send sends one request and returns a 2xx answer, whose body the caller
// closes; any other status is an *Error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("adminapi: %s %s: encode the body: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	return c.roundTrip(ctx, method, path, query, body)
}

// sendStreamed is send with in encoded as it is sent, a field and a slice
// value at a time (jsonstream), so that a large body (a whole state) is
// never held encoded; the encoding goroutine has ended when it returns.
func (c *Client) sendStreamed(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	pr, pw := io.Pipe()
	encoded := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(pw, 256<<10)
		err := jsonstream.Encode(w, reflect.ValueOf(in))
		if err == nil {
			err = w.Flush()
		}
		encoded <- err
		pw.CloseWithError(err) // nil: EOF, the body's end
	}()
	res, err := c.roundTrip(ctx, method, path, query, pr)
	// The transport has read the body to its end or given up on it (and
	// closed it): either way the encoder stops, at its end or at its next
	// write, which fails.
	pr.Close()
	encErr := <-encoded
	if encErr != nil && !errors.Is(encErr, io.ErrClosedPipe) {
		if res != nil {
			res.Body.Close()
		}
		return nil, fmt.Errorf("adminapi: %s %s: encode the body: %w", method, path, encErr)
	}
	return res, err
}

// roundTrip sends one request with body (nil: none) and returns a 2xx
// answer, whose body the caller closes; any other status is an *Error.
func (c *Client) roundTrip(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Response, error) {
	u := strings.TrimRight(c.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("adminapi: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("adminapi: %s %s: %w", method, path, err)
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	return nil, &Error{Method: method, Path: path, StatusCode: res.StatusCode, Message: errorMessage(raw)}
}

// errorMessage is the message of an admin error body, or the body itself
// when it is not one.
func errorMessage(raw []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Message != "" {
		return e.Message
	}
	return strings.TrimSpace(string(raw))
}

// Health is the twin's summary.
type Health struct {
	Status        string    `json:"status"`
	Time          time.Time `json:"time"`
	LocationID    string    `json:"locationId"`
	M360AccountID int64     `json:"m360AccountId"`
	Contacts      int       `json:"contacts"`
	Journal       int       `json:"journal"`
	Faults        int       `json:"faults"`
}

// Health reports whether the twin is up, its clock and its defaults: the
// location and Marketing 360 account its printed credentials belong to.
func (c *Client) Health(ctx context.Context) (Health, error) {
	return call[Health](ctx, c, http.MethodGet, "/__admin/health", nil, nil)
}

// OpenAPI returns the admin API's own OpenAPI document.
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	const path = "/__admin/openapi.yaml"
	res, err := c.send(ctx, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("adminapi: GET %s: %w", path, err)
	}
	return raw, nil
}

// Reset brings the twin back to its start-up state.
func (c *Client) Reset(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/__admin/reset", nil, nil, nil)
}

// ExportState decodes the twin's whole state into state (a pointer to the
// twin's state type, or to any value its JSON fits).
func (c *Client) ExportState(ctx context.Context, state any) error {
	return c.do(ctx, http.MethodGet, "/__admin/state", nil, nil, state)
}

// StateCounts are what the state holds after an import.
type StateCounts struct {
	Locations    int `json:"locations"`
	Contacts     int `json:"contacts"`
	Tasks        int `json:"tasks"`
	Notes        int `json:"notes"`
	Appointments int `json:"appointments"`
}

// ImportState replaces the twin's state with state, encoded as JSON. Every
// record the import adds, changes or drops sends its webhook events.
func (c *Client) ImportState(ctx context.Context, state any) (StateCounts, error) {
	return c.importState(ctx, state, nil)
}

// ImportStateQuietly is ImportState without webhook events.
func (c *Client) ImportStateQuietly(ctx context.Context, state any) (StateCounts, error) {
	return c.importState(ctx, state, url.Values{"events": {"false"}})
}

// importState sends state streamed: a whole state is the largest body the
// admin API takes (a hundred thousand contacts are a quarter of a
// gigabyte).
func (c *Client) importState(ctx context.Context, state any, q url.Values) (StateCounts, error) {
	const path = "/__admin/state"
	var counts StateCounts
	res, err := c.sendStreamed(ctx, http.MethodPut, path, q, state)
	if err != nil {
		return counts, err
	}
	return counts, decodeAnswer(res, http.MethodPut, path, &counts)
}
