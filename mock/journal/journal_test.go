package journal_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
)

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// secret is the distinctive value every redaction test hides.
const secret = "s3cr3t-value-123"

func ids(es []journal.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// short keeps test failures readable.
func short(s string) string {
	if len(s) > 200 {
		return s[:200] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

func seq(from, to int64) []int64 { // from down to to
	var out []int64
	for id := from; id >= to; id-- {
		out = append(out, id)
	}
	return out
}

func TestJournal_RingIsBounded(t *testing.T) {
	t.Parallel()
	for _, size := range []int{1, 3, 7, 64} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Parallel()
			j := journal.New(size, clock.NewManual(epoch))
			total := 10 * size
			for i := range total {
				j.Record(journal.Entry{Method: "GET", Path: fmt.Sprintf("/p/%d", i)})
				if j.Len() > j.Size() {
					t.Fatalf("after %d records Len %d > Size %d", i+1, j.Len(), j.Size())
				}
			}
			if j.Len() != size || j.Size() != size {
				t.Fatalf("Len %d Size %d, want %d", j.Len(), j.Size(), size)
			}
			got := j.Entries(journal.Filter{})
			if want := seq(int64(total), int64(total-size+1)); !slices.Equal(ids(got), want) {
				t.Fatalf("ids %v, want %v", ids(got), want)
			}
			for _, e := range got {
				if want := fmt.Sprintf("/p/%d", e.ID-1); e.Path != want {
					t.Fatalf("entry %d has path %s, want %s", e.ID, e.Path, want)
				}
				if !e.Time.Equal(epoch) {
					t.Fatalf("entry %d time %v, want the clock's %v", e.ID, e.Time, epoch)
				}
			}
		})
	}
}

func TestJournal_ResizeClearDisable(t *testing.T) {
	t.Parallel()
	record := func(j *journal.Journal, n int) {
		for range n {
			j.Record(journal.Entry{Method: "GET", Path: "/"})
		}
	}
	tests := []struct {
		name    string
		size    int
		steps   func(j *journal.Journal)
		wantIDs []int64
		wantCap int
	}{
		{"resize down keeps the newest", 5, func(j *journal.Journal) { record(j, 10); j.Resize(3) }, seq(10, 8), 3},
		{"resize up keeps all", 5, func(j *journal.Journal) { record(j, 10); j.Resize(8); record(j, 2) }, seq(12, 6), 8},
		{"resize down then record", 5, func(j *journal.Journal) { record(j, 4); j.Resize(2); record(j, 3) }, seq(7, 6), 2},
		{"resize to the same size", 4, func(j *journal.Journal) { record(j, 6); j.Resize(4) }, seq(6, 3), 4},
		{"size 0 records nothing", 0, func(j *journal.Journal) { record(j, 10) }, nil, 0},
		{"negative size records nothing", -3, func(j *journal.Journal) { record(j, 10) }, nil, 0},
		{"resize to 0 drops and disables", 5, func(j *journal.Journal) { record(j, 3); j.Resize(0); record(j, 3) }, nil, 0},
		{"re-enabled after 0", 0, func(j *journal.Journal) { record(j, 3); j.Resize(2); record(j, 3) }, seq(3, 2), 2},
		{"clear keeps ids increasing", 5, func(j *journal.Journal) { record(j, 3); j.Clear(); record(j, 2) }, seq(5, 4), 5},
		{"clear empties", 5, func(j *journal.Journal) { record(j, 7); j.Clear() }, nil, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := journal.New(tc.size, clock.NewManual(epoch))
			tc.steps(j)
			if got := ids(j.Entries(journal.Filter{})); !slices.Equal(got, tc.wantIDs) && len(got)+len(tc.wantIDs) > 0 {
				t.Fatalf("ids %v, want %v", got, tc.wantIDs)
			}
			if j.Len() != len(tc.wantIDs) || j.Size() != tc.wantCap {
				t.Fatalf("Len %d Size %d, want %d and %d", j.Len(), j.Size(), len(tc.wantIDs), tc.wantCap)
			}
		})
	}
}

func TestJournal_Filters(t *testing.T) {
	t.Parallel()
	clk := clock.NewManual(epoch)
	j := journal.New(100, clk)
	rows := []struct {
		method, path, op string
		status           int
	}{
		{"GET", "/contacts/1", "get-contact", 200},                // 1 @ +0s
		{"POST", "/contacts", "create-contact", 201},              // 2 @ +1s
		{"GET", "/contacts/2", "get-contact", 404},                // 3 @ +2s
		{"DELETE", "/contacts/1", "delete-contact", 200},          // 4 @ +3s
		{"GET", "/opportunities/9", "get-opportunity", 200},       // 5 @ +4s
		{"GET", "/contacts", "search-contacts", 200},              // 6 @ +5s
		{"POST", "/contacts/1/tags", "add-tags", 422},             // 7 @ +6s
		{"GET", "/contacts-archive/1", "get-archived-contact", 0}, // 8 @ +7s
	}
	for _, r := range rows {
		j.Record(journal.Entry{Method: r.method, Path: r.path, Operation: r.op, Status: r.status})
		clk.Advance(time.Second)
	}
	tests := []struct {
		name string
		f    journal.Filter
		want []int64
	}{
		{"all", journal.Filter{}, seq(8, 1)},
		{"method", journal.Filter{Method: "GET"}, []int64{8, 6, 5, 3, 1}},
		{"method any case", journal.Filter{Method: "post"}, []int64{7, 2}},
		{"operation", journal.Filter{Operation: "get-contact"}, []int64{3, 1}},
		{"path exact", journal.Filter{Path: "/contacts"}, []int64{6, 2}},
		{"path exact is not a prefix", journal.Filter{Path: "/contacts/1"}, []int64{4, 1}},
		{"path prefix", journal.Filter{Path: "/contacts/*"}, []int64{7, 4, 3, 1}},
		{"path prefix without slash", journal.Filter{Path: "/contacts*"}, []int64{8, 7, 6, 4, 3, 2, 1}},
		{"path star matches all", journal.Filter{Path: "*"}, seq(8, 1)},
		{"status", journal.Filter{Status: 200}, []int64{6, 5, 4, 1}},
		{"status none", journal.Filter{Status: 500}, nil},
		{"since is inclusive", journal.Filter{Since: epoch.Add(5 * time.Second)}, []int64{8, 7, 6}},
		{"since after all", journal.Filter{Since: epoch.Add(time.Hour)}, nil},
		{"limit", journal.Filter{Limit: 3}, []int64{8, 7, 6}},
		{"limit above count", journal.Filter{Limit: 50}, seq(8, 1)},
		{"negative limit is all", journal.Filter{Limit: -1}, seq(8, 1)},
		{"combined", journal.Filter{Method: "GET", Path: "/contacts/*", Status: 200}, []int64{1}},
		{"combined with limit", journal.Filter{Method: "GET", Since: epoch.Add(2 * time.Second), Limit: 2}, []int64{8, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := j.Entries(tc.f)
			if !slices.Equal(ids(got), tc.want) {
				t.Fatalf("ids %v, want %v", ids(got), tc.want)
			}
			if n := j.Count(tc.f); n != len(got) {
				t.Fatalf("Count %d, len(Entries) %d", n, len(got))
			}
		})
	}
}

// exchange is one request and the response a handler gives it.
type exchange struct {
	reqHeader  http.Header
	query      string
	reqBody    string
	respHeader http.Header
	respBody   string
}

func TestJournal_Redaction(t *testing.T) {
	t.Parallel()
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	formCT := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	// A JSON response longer than MaxBody whose secret lies before the cut:
	// the middleware keeps a prefix that is not valid JSON.
	padded := func(before int) string {
		return `{"pad":"` + strings.Repeat("x", before) + `","access_token":"` + secret + `","tail":"` + strings.Repeat("y", journal.MaxBody) + `"}`
	}
	keys := []string{"access_token", "refresh_token", "client_secret", "code", "password", "token", "secret", "apiKey", "api_key"}
	type tcase struct {
		name    string
		x       exchange
		want    []string // each must appear in the entry
		secrets []string // none may appear; default: secret
	}
	tests := []tcase{
		{name: "authorization keeps the scheme",
			x:    exchange{reqHeader: http.Header{"Authorization": {"Bearer " + secret}}},
			want: []string{"Bearer [redacted]"}},
		{name: "authorization basic",
			x:    exchange{reqHeader: http.Header{"Authorization": {"Basic " + secret}}},
			want: []string{"Basic [redacted]"}},
		{name: "authorization without a scheme",
			x:    exchange{reqHeader: http.Header{"Authorization": {secret}}},
			want: []string{"[redacted]"}},
		{name: "authorization unknown first word",
			x:       exchange{reqHeader: http.Header{"Authorization": {"s3cr3t-part-one " + secret}}},
			secrets: []string{secret, "s3cr3t-part-one"}},
		{name: "proxy-authorization",
			x:    exchange{reqHeader: http.Header{"Proxy-Authorization": {"Basic " + secret}}},
			want: []string{"Proxy-Authorization:[Basic [redacted]]"}},
		{name: "cookie",
			x:    exchange{reqHeader: http.Header{"Cookie": {"session=" + secret, "other=" + secret}}},
			want: []string{"Cookie:[[redacted] [redacted]]"}},
		{name: "set-cookie",
			x:    exchange{respHeader: http.Header{"Set-Cookie": {"session=" + secret + "; HttpOnly"}}},
			want: []string{"Set-Cookie:[[redacted]]"}},
		{name: "x-admin-token",
			x:    exchange{reqHeader: http.Header{"X-Admin-Token": {secret}}},
			want: []string{"X-Admin-Token:[[redacted]]"}},
		{name: "redirect location",
			x: exchange{respHeader: http.Header{"Location": {"https://app.example/cb?code=" + secret + "&state=st-1#access_token=" + secret + "&x=1"}},
				reqHeader: http.Header{"Referer": {"https://app.example/?token=" + secret}}},
			want: []string{"https://app.example/cb?code=[redacted]&state=st-1#access_token=[redacted]&x=1", "https://app.example/?token=[redacted]"}},
		{name: "other headers are kept",
			x:    exchange{reqHeader: http.Header{"Version": {"2021-07-28"}}, respHeader: http.Header{"X-Request-Id": {"r-1"}}},
			want: []string{"2021-07-28", "r-1"}, secrets: []string{}},
		{name: "nested json at any depth",
			x: exchange{reqHeader: jsonCT, reqBody: `{"a":{"b":[{"c":{"password":"` + secret + `"}}]},"keep":"visible-1"}`,
				respHeader: jsonCT, respBody: `[{"deep":{"er":{"refresh_token":"` + secret + `"}}},"visible-2"]`},
			want: []string{`{"a":{"b":[{"c":{"password":"[redacted]"}}]},"keep":"visible-1"}`, `"refresh_token":"[redacted]"`, "visible-2"}},
		{name: "json secret values of any type",
			x: exchange{reqHeader: jsonCT,
				reqBody: `{"code": 31415926, "token": {"inner": "` + secret + `"}, "secret": ["` + secret + `"], "apiKey": true, "name": "kept"}`},
			want:    []string{`"code": "[redacted]"`, `"token": "[redacted]"`, `"name": "kept"`},
			secrets: []string{secret, "31415926"}},
		{name: "json keys any case, formatting kept",
			x:    exchange{reqHeader: jsonCT, reqBody: "{\n  \"Password\" :  \"" + secret + "\",\n  \"API_KEY\": \"" + secret + "\"\n}"},
			want: []string{"{\n  \"Password\" :  \"[redacted]\",\n  \"API_KEY\": \"[redacted]\"\n}"}},
		{name: "json with vendor content type",
			x:    exchange{reqHeader: http.Header{"Content-Type": {"application/vnd.api+json; charset=utf-8"}}, reqBody: `{"client_secret":"` + secret + `"}`},
			want: []string{`"client_secret":"[redacted]"`}},
		{name: "json without a content type",
			x:    exchange{reqBody: `{"access_token":"` + secret + `"}`},
			want: []string{`"access_token":"[redacted]"`}},
		{name: "malformed json",
			x:    exchange{reqHeader: jsonCT, reqBody: `{"password":"` + secret + `", "name": oops`},
			want: []string{`"password":"[redacted]"`, "oops"}},
		{name: "token endpoint response",
			x: exchange{respHeader: http.Header{"Content-Type": {"application/json; charset=utf-8"}},
				respBody: `{"access_token":"` + secret + `","token_type":"Bearer","refresh_token":"` + secret + `","expires_in":86399}`},
			want: []string{`"token_type":"Bearer"`, `"expires_in":86399`}},
		{name: "json response longer than MaxBody",
			x:    exchange{respHeader: jsonCT, respBody: padded(journal.MaxBody - 100)},
			want: []string{`"access_token":"[redacted]"`}},
		{name: "json response cut inside the secret",
			x:       exchange{respHeader: jsonCT, respBody: padded(journal.MaxBody - 40)},
			secrets: []string{secret, "s3cr3t"}},
		{name: "form body",
			x: exchange{reqHeader: formCT,
				reqBody: "grant_type=authorization_code&client_id=app-1&client_secret=" + secret + "&code=" + secret + "&refresh_token=" + secret},
			want: []string{"grant_type=authorization_code&client_id=app-1&client_secret=[redacted]&code=[redacted]&refresh_token=[redacted]"}},
		{name: "form body escaped keys and values",
			x:    exchange{reqHeader: formCT, reqBody: "api%5Fkey=" + url.QueryEscape(secret+" x") + "&PASSWORD=" + secret + "&note=a+b"},
			want: []string{"api%5Fkey=[redacted]&PASSWORD=[redacted]&note=a+b"}},
		{name: "query string",
			x:    exchange{query: "locationId=L1&access_token=" + secret + "&apiKey=" + secret + "&limit=20"},
			want: []string{"locationId=L1&access_token=[redacted]&apiKey=[redacted]&limit=20"}},
		{name: "neither json nor form is scrubbed by shape",
			x:    exchange{reqHeader: http.Header{"Content-Type": {"text/plain"}}, reqBody: "hello password=" + secret + " bye"},
			want: []string{"hello password=[redacted] bye"}},
	}
	for _, k := range keys {
		tests = append(tests,
			tcase{name: "json key " + k,
				x:    exchange{reqHeader: jsonCT, reqBody: `{"` + k + `":"` + secret + `","keep":"k"}`, respHeader: jsonCT, respBody: `{"data":{"` + k + `":"` + secret + `"}}`},
				want: []string{`{"` + k + `":"[redacted]","keep":"k"}`, `{"data":{"` + k + `":"[redacted]"}}`}},
			tcase{name: "form key " + k,
				x:    exchange{reqHeader: formCT, reqBody: "a=1&" + k + "=" + secret},
				want: []string{"a=1&" + k + "=[redacted]"}},
			tcase{name: "query key " + k,
				x:    exchange{query: k + "=" + secret + "&b=2"},
				want: []string{k + "=[redacted]&b=2"}},
		)
	}
	check := func(t *testing.T, tc tcase, e journal.Entry) {
		t.Helper()
		enc, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		text := fmt.Sprintf("%+v", e)
		secrets := tc.secrets
		if secrets == nil {
			secrets = []string{secret}
		}
		for _, s := range secrets {
			if strings.Contains(string(enc), s) || strings.Contains(text, s) {
				t.Errorf("secret %q appears in the entry: %s", s, enc)
			}
		}
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("entry lacks %q: %s", w, text)
			}
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			t.Run("middleware", func(t *testing.T) {
				j := journal.New(4, clock.NewManual(epoch))
				h := j.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if body, _ := io.ReadAll(r.Body); string(body) != tc.x.reqBody {
						t.Errorf("handler got body %q, want %q", body, tc.x.reqBody)
					}
					for k, vs := range tc.x.respHeader {
						w.Header()[k] = vs
					}
					w.WriteHeader(http.StatusOK)
					io.WriteString(w, tc.x.respBody)
				}))
				target := "/x"
				if tc.x.query != "" {
					target += "?" + tc.x.query
				}
				req := httptest.NewRequest("POST", target, strings.NewReader(tc.x.reqBody))
				for k, vs := range tc.x.reqHeader {
					req.Header[k] = vs
				}
				h.ServeHTTP(httptest.NewRecorder(), req)
				es := j.Entries(journal.Filter{})
				if len(es) != 1 {
					t.Fatalf("%d entries, want 1", len(es))
				}
				check(t, tc, es[0])
			})
			t.Run("record", func(t *testing.T) {
				j := journal.New(4, clock.NewManual(epoch))
				j.Record(journal.Entry{Method: "POST", Path: "/x", Query: tc.x.query,
					RequestHeaders: tc.x.reqHeader, RequestBody: tc.x.reqBody,
					ResponseHeaders: tc.x.respHeader, ResponseBody: tc.x.respBody})
				es := j.Entries(journal.Filter{})
				if len(es) != 1 {
					t.Fatalf("%d entries, want 1", len(es))
				}
				check(t, tc, es[0])
			})
		})
	}
}

func TestJournal_RecordDoesNotKeepCallersMaps(t *testing.T) {
	t.Parallel()
	j := journal.New(2, clock.NewManual(epoch))
	h := map[string][]string{"X-A": {"1"}}
	j.Record(journal.Entry{RequestHeaders: h})
	h["X-A"][0] = "changed"
	if got := j.Entries(journal.Filter{})[0].RequestHeaders["X-A"][0]; got != "1" {
		t.Fatalf("entry header changed with the caller's map: %q", got)
	}
}

type twin struct {
	h   http.Handler
	j   *journal.Journal
	clk *clock.Manual
	// got is the body the create-thing handler last received.
	mu  sync.Mutex
	got []byte
}

func newTwin(t *testing.T, size int, inner ...pipeline.Middleware) *twin {
	t.Helper()
	tw := &twin{clk: clock.NewManual(epoch)}
	tw.j = journal.New(size, tw.clk)
	tokens := auth.NewRegistry(clock.Real{})
	tokens.Add("good-"+secret, auth.Principal{LocationID: "L1", Scopes: []string{"things.read"}})
	handlers := map[string]pipeline.HandlerFunc{
		"get-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			tw.clk.Advance(250 * time.Millisecond)
			return pipeline.Response{Status: http.StatusOK, Header: http.Header{"X-Thing": {r.Path["id"]}},
				Body: map[string]any{"name": r.Path["id"], "q": r.Query.Get("q")}}, nil
		},
		"create-thing": func(r *pipeline.Request) (pipeline.Response, error) {
			tw.mu.Lock()
			tw.got = r.Body
			tw.mu.Unlock()
			var in struct {
				Name string `json:"name"`
			}
			if err := r.Decode(&in); err != nil {
				return pipeline.Response{}, err
			}
			return pipeline.JSON(http.StatusCreated, map[string]any{"len": len(in.Name), "name": in.Name}), nil
		},
		"get-token": func(r *pipeline.Request) (pipeline.Response, error) {
			return pipeline.JSON(http.StatusOK, map[string]any{"access_token": "at-" + secret,
				"refresh_token": "rt-" + secret, "token_type": "Bearer"}), nil
		},
	}
	tw.h = pipelinetest.New(t, pipeline.Config{Handlers: handlers, Auth: tokens,
		Outer: []pipeline.Middleware{tw.j.Middleware()}, Inner: inner})
	return tw
}

// do sends body with content type ct (when not "") and header; see
// pipelinetest.NewRequest.
func (tw *twin) do(method, target, ct, body string, header http.Header) *httptest.ResponseRecorder {
	req := pipelinetest.NewRequest(method, target, "", body)
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return pipelinetest.Serve(tw.h, req)
}

func TestMiddleware_EndToEnd(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", journal.MaxBody+500)
	tests := []struct {
		name, method, target, ct, body string
		header                         http.Header
		want                           journal.Entry // compared field by field where set
		wantReqBody, wantRespBody      string        // substrings
		wantTruncated                  bool
		wantDurationMs                 float64
		wantHandlerBody                string // what create-thing received, when set
	}{
		{name: "authenticated get", method: "GET", target: "/things/a1?q=hello&token=" + secret,
			header:         http.Header{"Authorization": {"Bearer good-" + secret}},
			want:           journal.Entry{Method: "GET", Path: "/things/a1", Query: "q=hello&token=[redacted]", Operation: "get-thing", Location: "L1", Status: 200},
			wantRespBody:   `"name":"a1"`,
			wantDurationMs: 250},
		{name: "unauthenticated get", method: "GET", target: "/things/a1",
			want:         journal.Entry{Method: "GET", Path: "/things/a1", Operation: "get-thing", Status: 401},
			wantRespBody: `"status":401`},
		{name: "json post", method: "POST", target: "/things", ct: "application/json", body: `{"name":"widget","password":"` + secret + `"}`,
			want:            journal.Entry{Method: "POST", Path: "/things", Operation: "create-thing", Status: 201},
			wantReqBody:     `{"name":"widget","password":"[redacted]"}`,
			wantRespBody:    `"name":"widget"`,
			wantHandlerBody: `{"name":"widget","password":"` + secret + `"}`},
		{name: "invalid post", method: "POST", target: "/things", ct: "application/json", body: `{"nom":"x"}`,
			want:        journal.Entry{Method: "POST", Path: "/things", Operation: "create-thing", Status: 422},
			wantReqBody: `{"nom":"x"}`},
		{name: "body over MaxBody is cut, handler gets it whole", method: "POST", target: "/things", ct: "application/json",
			body:            `{"name":"` + long + `"}`,
			want:            journal.Entry{Method: "POST", Path: "/things", Operation: "create-thing", Status: 201},
			wantReqBody:     `{"name":"nnnn`,
			wantRespBody:    fmt.Sprintf(`{"len":%d,"name":"nnn`, len(long)),
			wantTruncated:   true,
			wantHandlerBody: `{"name":"` + long + `"}`},
		{name: "body over the pipeline's limit is still refused", method: "POST", target: "/things", ct: "application/json",
			body:          `{"name":"` + strings.Repeat("n", pipeline.MaxBodyBytes) + `"}`,
			want:          journal.Entry{Method: "POST", Path: "/things", Operation: "create-thing", Status: 400},
			wantRespBody:  "larger than",
			wantTruncated: true},
		{name: "token endpoint form", method: "POST", target: "/oauth/token", ct: "application/x-www-form-urlencoded",
			body:         "grant_type=authorization_code&client_id=app&client_secret=" + secret + "&code=" + secret,
			want:         journal.Entry{Method: "POST", Path: "/oauth/token", Operation: "get-token", Status: 200},
			wantReqBody:  "grant_type=authorization_code&client_id=app&client_secret=[redacted]&code=[redacted]",
			wantRespBody: `"token_type":"Bearer"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTwin(t, 8)
			rec := tw.do(tc.method, tc.target, tc.ct, tc.body, tc.header)
			if rec.Code != tc.want.Status {
				t.Fatalf("client got %d, want %d: %s", rec.Code, tc.want.Status, rec.Body)
			}
			es := tw.j.Entries(journal.Filter{})
			if len(es) != 1 {
				t.Fatalf("%d entries, want 1", len(es))
			}
			e := es[0]
			if e.ID != 1 || e.Method != tc.want.Method || e.Path != tc.want.Path || e.Query != tc.want.Query ||
				e.Operation != tc.want.Operation || e.Location != tc.want.Location || e.Status != tc.want.Status {
				t.Fatalf("entry %+v\nwant  %+v", e, tc.want)
			}
			if !e.Time.Equal(epoch) || e.DurationMs != tc.wantDurationMs {
				t.Fatalf("time %v duration %vms, want %v and %vms", e.Time, e.DurationMs, epoch, tc.wantDurationMs)
			}
			if !strings.Contains(e.RequestBody, tc.wantReqBody) || !strings.Contains(e.ResponseBody, tc.wantRespBody) {
				t.Fatalf("bodies %q / %q, want them to contain %q / %q", short(e.RequestBody), short(e.ResponseBody), tc.wantReqBody, tc.wantRespBody)
			}
			if e.ResponseBody != rec.Body.String() && !tc.wantTruncated && !strings.Contains(rec.Body.String(), secret) {
				t.Fatalf("recorded response %q, client got %q", e.ResponseBody, rec.Body)
			}
			if e.Truncated != tc.wantTruncated || len(e.RequestBody) > journal.MaxBody || len(e.ResponseBody) > journal.MaxBody {
				t.Fatalf("truncated %v (bodies %d and %d bytes), want %v", e.Truncated, len(e.RequestBody), len(e.ResponseBody), tc.wantTruncated)
			}
			if got := e.ResponseHeaders["Content-Type"]; len(got) != 1 || !strings.HasPrefix(got[0], "application/json") {
				t.Fatalf("response headers %v lack the content type", e.ResponseHeaders)
			}
			if tc.wantHandlerBody != "" {
				tw.mu.Lock()
				got := string(tw.got)
				tw.mu.Unlock()
				if got != tc.wantHandlerBody {
					t.Fatalf("handler got a %d-byte body, want %d bytes", len(got), len(tc.wantHandlerBody))
				}
			}
			enc, _ := json.Marshal(es)
			if strings.Contains(string(enc), secret) {
				t.Fatalf("secret in the journal: %s", enc)
			}
		})
	}
}

func TestMiddleware_RecordsPanics(t *testing.T) {
	t.Parallel()
	abortBefore := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	}
	abortAfterHeader := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, `{"part`)
			panic(http.ErrAbortHandler)
		})
	}
	boom := func(http.Handler) http.Handler {
		return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	}
	tests := []struct {
		name         string
		inner        pipeline.Middleware
		wantPanic    bool
		wantStatus   int // entry
		wantClient   int
		wantRespBody string
	}{
		{"abort before writing", abortBefore, true, 0, 200, ""},
		{"abort after the header", abortAfterHeader, true, 202, 202, `{"part`},
		{"other panics become a 500", boom, false, 500, 500, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tw := newTwin(t, 4, tc.inner)
			var rec *httptest.ResponseRecorder
			got := func() (v any) {
				defer func() { v = recover() }()
				rec = tw.do("POST", "/things?x=1", "application/json", `{"name":"n"}`, nil)
				return nil
			}()
			if tc.wantPanic && got != http.ErrAbortHandler {
				t.Fatalf("panic %v, want http.ErrAbortHandler to propagate", got)
			}
			if !tc.wantPanic && (got != nil || rec.Code != tc.wantClient) {
				t.Fatalf("panic %v, client status %d; want no panic and %d", got, rec.Code, tc.wantClient)
			}
			es := tw.j.Entries(journal.Filter{})
			if len(es) != 1 {
				t.Fatalf("%d entries, want 1", len(es))
			}
			e := es[0]
			if e.Status != tc.wantStatus || e.Operation != "create-thing" || e.Query != "x=1" ||
				e.RequestBody != `{"name":"n"}` || e.ResponseBody != tc.wantRespBody {
				t.Fatalf("entry %+v, want status %d and the request", e, tc.wantStatus)
			}
		})
	}
}

// hijackable is a writer that supports hijacking, as net/http's does.
type hijackable struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackable) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	return nil, nil, nil
}

func TestMiddleware_PassesFlushAndHijack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		w          http.ResponseWriter
		handler    func(w http.ResponseWriter) error
		wantErr    error
		wantStatus int
	}{
		{"controller flush", httptest.NewRecorder(), func(w http.ResponseWriter) error {
			return http.NewResponseController(w).Flush()
		}, nil, 200},
		{"flusher interface", httptest.NewRecorder(), func(w http.ResponseWriter) error {
			w.(http.Flusher).Flush()
			return nil
		}, nil, 200},
		{"controller hijack", &hijackable{ResponseRecorder: httptest.NewRecorder()}, func(w http.ResponseWriter) error {
			_, _, err := http.NewResponseController(w).Hijack()
			return err
		}, nil, 0},
		{"hijack not supported", httptest.NewRecorder(), func(w http.ResponseWriter) error {
			_, _, err := http.NewResponseController(w).Hijack()
			return err
		}, http.ErrNotSupported, 200},
		{"controller deadline reaches the writer", httptest.NewRecorder(), func(w http.ResponseWriter) error {
			return http.NewResponseController(w).SetWriteDeadline(epoch)
		}, http.ErrNotSupported, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := journal.New(2, clock.NewManual(epoch))
			var err error
			j.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				err = tc.handler(w)
			})).ServeHTTP(tc.w, httptest.NewRequest("GET", "/stream", nil))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			switch w := tc.w.(type) {
			case *httptest.ResponseRecorder:
				if tc.name != "hijack not supported" && tc.wantErr == nil && !w.Flushed {
					t.Fatal("the flush did not reach the client's writer")
				}
			case *hijackable:
				if !w.hijacked {
					t.Fatal("the hijack did not reach the client's writer")
				}
			}
			if es := j.Entries(journal.Filter{}); len(es) != 1 || es[0].Status != tc.wantStatus {
				t.Fatalf("entries %+v, want one with status %d", es, tc.wantStatus)
			}
		})
	}
}

// TestMiddleware_ResponseHeadersAsSent: an entry shows the response header
// as it was when the header was written (or flushed), not as the handler
// changed it afterwards; with nothing written, as it was when the handler
// returned. Keys of several values or none, and a secret, are kept as they
// were (the secret redacted).
func TestMiddleware_ResponseHeadersAsSent(t *testing.T) {
	t.Parallel()
	set := func(h http.Header) {
		h.Set("Content-Type", "application/json")
		h["Vary"] = []string{"Accept", "Origin"}
		h["X-Empty"] = nil
		h.Set("Set-Cookie", "sid="+secret)
	}
	change := func(h http.Header) {
		h.Set("Content-Type", "text/plain")
		h["Vary"][0] = "Changed" // in place: the snapshot must hold its own copy
		h.Add("Vary", "Later")
		h.Set("X-Later", "1")
		h.Del("X-Empty")
	}
	want := map[string][]string{"Content-Type": {"application/json"}, "Vary": {"Accept", "Origin"},
		"X-Empty": nil, "Set-Cookie": {"[redacted]"}}
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter)
		want    map[string][]string
	}{
		{"changed after WriteHeader", func(w http.ResponseWriter) {
			set(w.Header())
			w.WriteHeader(http.StatusCreated)
			change(w.Header())
			io.WriteString(w, "{}")
		}, want},
		{"changed after Write", func(w http.ResponseWriter) {
			set(w.Header())
			io.WriteString(w, "{}")
			change(w.Header())
		}, want},
		{"changed after Flush", func(w http.ResponseWriter) {
			set(w.Header())
			w.(http.Flusher).Flush()
			change(w.Header())
		}, want},
		{"nothing written", func(w http.ResponseWriter) {
			set(w.Header())
			change(w.Header())
		}, map[string][]string{"Content-Type": {"text/plain"}, "Vary": {"Changed", "Origin", "Later"},
			"X-Later": {"1"}, "Set-Cookie": {"[redacted]"}}},
		{"no header", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }, map[string][]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := journal.New(2, clock.NewManual(epoch))
			j.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				tc.handler(w)
			})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/things/1", nil))
			es := j.Entries(journal.Filter{})
			if len(es) != 1 {
				t.Fatalf("%d entries, want 1", len(es))
			}
			got, _ := json.Marshal(es[0].ResponseHeaders)
			wantJSON, _ := json.Marshal(tc.want)
			if string(got) != string(wantJSON) {
				t.Errorf("response headers %s, want %s", got, wantJSON)
			}
		})
	}
}

func TestMiddleware_Concurrent(t *testing.T) {
	t.Parallel()
	const size, workers, perWorker = 16, 20, 40
	tw := newTwin(t, size)
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker+1)
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := tw.j.Len(); n > size {
				errs <- fmt.Errorf("Len %d > %d", n, size)
			}
			if es := tw.j.Entries(journal.Filter{Method: "POST", Limit: 5}); len(es) > 5 {
				errs <- fmt.Errorf("%d entries past the limit", len(es))
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				var rec *httptest.ResponseRecorder
				if i%2 == 0 {
					rec = tw.do("POST", "/things", "application/json", fmt.Sprintf(`{"name":"w%d-%d"}`, w, i), nil)
				} else {
					rec = tw.do("GET", fmt.Sprintf("/things/w%d-%d", w, i), "", "", http.Header{"Authorization": {"Bearer good-" + secret}})
				}
				if rec.Code >= 300 {
					errs <- fmt.Errorf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	es := tw.j.Entries(journal.Filter{})
	if len(es) != size || tw.j.Len() != size {
		t.Fatalf("%d entries (Len %d), want %d", len(es), tw.j.Len(), size)
	}
	seen := map[int64]bool{}
	for i, e := range es {
		if seen[e.ID] || (i > 0 && e.ID >= es[i-1].ID) {
			t.Fatalf("ids not unique and decreasing: %v", ids(es))
		}
		seen[e.ID] = true
	}
	if es[0].ID != workers*perWorker {
		t.Fatalf("newest id %d, want %d", es[0].ID, workers*perWorker)
	}
}

func TestRecord_RedactsSecretsInBodiesOfOtherTypes(t *testing.T) {
	t.Parallel()
	j := journal.New(10, clock.NewManual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	const secret = "s3cr3t-value-123"
	for _, tc := range []struct{ ct, body string }{
		{"text/plain", "client_id=app&client_secret=" + secret + "&grant_type=authorization_code&code=" + secret},
		{"multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"client_secret\"\r\n\r\n" + secret + "\r\n--XX--\r\n"},
		{"application/octet-stream", `{"refresh_token":"` + secret + `"}`},
	} {
		j.Record(journal.Entry{Method: "POST", Path: "/oauth/token", Status: 400,
			RequestHeaders: map[string][]string{"Content-Type": {tc.ct}}, RequestBody: tc.body})
	}
	out, err := json.Marshal(j.Entries(journal.Filter{}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), secret) {
		t.Fatalf("a secret survived in a body of another type: %s", out)
	}
	if !strings.Contains(string(out), "client_id=app") {
		t.Fatalf("the rest of the body was lost: %s", out)
	}
}

func TestMiddleware_HandsTheWholeBodyOnAsRead(t *testing.T) {
	t.Parallel()
	j := journal.New(4, clock.NewManual(epoch))
	for _, tc := range []struct {
		name  string
		size  int
		whole bool
	}{
		{"small", 10, true},
		{"at the limit", pipeline.MaxBodyBytes, true},
		{"past the limit", pipeline.MaxBodyBytes + 1, false},
	} {
		sent := strings.Repeat("x", tc.size)
		var whole bool
		var got string
		h := j.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, ok := r.Body.(*pipeline.Body)
			whole = ok && string(b.Bytes()) == sent
			data, _ := io.ReadAll(r.Body)
			got = string(data)
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(sent)))
		if whole != tc.whole || got != sent {
			t.Errorf("%s: a pipeline.Body of the bytes %v (want %v), read %d bytes of %d", tc.name, whole, tc.whole, len(got), len(sent))
		}
	}
}

// partsBody is a JSON body of n string items of size bytes each, as parts.
func partsBody(n, size int, fill byte) pipeline.JSONParts {
	item := []byte(`"` + strings.Repeat(string(fill), size-2) + `"`)
	parts := pipeline.JSONParts{[]byte(`{"items":[`)}
	for i := range n {
		if i > 0 {
			parts = append(parts, []byte(`,`))
		}
		parts = append(parts, item)
	}
	return append(parts, []byte(`]}`))
}

func TestMiddleware_KeepsAJSONPartsBodyAsWritten(t *testing.T) {
	t.Parallel()
	// then, when set, writes more after the handler's body.
	var then atomic.Pointer[string]
	after := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r)
			if s := then.Load(); s != nil {
				_, _ = io.WriteString(w, *s)
			}
		})
	}
	var body atomic.Pointer[pipeline.JSONParts]
	j := journal.New(10, clock.NewManual(epoch))
	h := pipelinetest.New(t, pipeline.Config{Outer: []pipeline.Middleware{j.Middleware(), after},
		Handlers: map[string]pipeline.HandlerFunc{"get-open": func(*pipeline.Request) (pipeline.Response, error) {
			return pipeline.JSON(http.StatusOK, *body.Load()), nil
		}}})
	send := func(parts pipeline.JSONParts, extra *string) string {
		t.Helper()
		body.Store(&parts)
		then.Store(extra)
		rec := pipelinetest.Serve(h, pipelinetest.NewRequest("GET", "/open", "", ""))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d", rec.Code)
		}
		return rec.Body.String()
	}
	serve := func(parts pipeline.JSONParts, extra *string) (sent string, e journal.Entry) {
		t.Helper()
		sent = send(parts, extra)
		es := j.Entries(journal.Filter{Limit: 1})
		if len(es) != 1 {
			t.Fatalf("%d entries", len(es))
		}
		return sent, es[0]
	}
	more := ` and more`
	for _, tc := range []struct {
		name  string
		parts pipeline.JSONParts
		extra *string
	}{
		{"under MaxBody", partsBody(10, 100, 'a'), nil},
		{"many parts over MaxBody", partsBody(300, 100, 'b'), nil},
		{"a part cut at MaxBody", partsBody(3, journal.MaxBody/2+7, 'c'), nil},
		{"parts over twice MaxBody", partsBody(1, 3*journal.MaxBody, 'd'), nil},
		{"a write after the parts", partsBody(10, 100, 'e'), &more},
		{"a write after parts over MaxBody", partsBody(300, 100, 'f'), &more},
	} {
		sent, e := serve(tc.parts, tc.extra)
		want := sent[:min(len(sent), journal.MaxBody)]
		if e.ResponseBody != want || e.Truncated != (len(sent) > journal.MaxBody) {
			t.Errorf("%s: kept %d bytes %.40q... (truncated %v), want the %d first of the %d sent %.40q...",
				tc.name, len(e.ResponseBody), e.ResponseBody, e.Truncated, len(want), len(sent), want)
		}
	}
	// An entry read after later requests (which reuse the pipeline's
	// buffers) still holds its own body.
	first := send(partsBody(20, 50, 'x'), nil)
	for range 3 {
		send(partsBody(20, 50, 'y'), nil)
	}
	if es := j.Entries(journal.Filter{}); es[3].ResponseBody != first {
		t.Errorf("the older entry holds %.60q..., want %.60q...", es[3].ResponseBody, first)
	}
}
