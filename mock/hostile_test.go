package mock_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/faults"
	"github.com/contactbridge/contactbridge/mock/limits"
)

// The hostile-input suite (issue 12): each class of bad input, against both
// twins and the admin API.

// deepBody is a JSON object nested n objects deep, about 6n bytes.
func deepBody(n int) string {
	return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n)
}

// hostileTargets sends body to a body-taking operation of each API: the
// HighLevel and Marketing 360 contact creates and the admin clock.
func hostileTargets(t *testing.T) (*twinEnv, *m360Env, []struct {
	name string
	send func(body string) apiResponse
}) {
	t.Helper()
	hl := newTwin(t)
	m := m360EnvOf(hl.srv, hl.clk)
	return hl, m, []struct {
		name string
		send func(body string) apiResponse
	}{
		{"highlevel", func(body string) apiResponse { return hl.do(t, "POST", "/contacts/", body) }},
		{"m360", func(body string) apiResponse { return m.do(t, "POST", "/v1/contacts", body) }},
		{"admin", func(body string) apiResponse { return hl.do(t, "POST", "/__admin/clock", body) }},
	}
}

// TestHostile_DeepBodyRefusedBeforeDecoding: a 60 KB body nested 10,000
// deep is refused with 400 by its nesting, before the validator decodes it,
// and the whole exchange allocates a bounded amount (it took over 1 GB when
// the validator formatted the value into its error). Not parallel: it reads
// the process's allocation counter.
func TestHostile_DeepBodyRefusedBeforeDecoding(t *testing.T) {
	_, _, targets := hostileTargets(t)
	body := deepBody(10_000)
	const maxAlloc = 16 << 20 // the body is 60 KB; the journal keeps a copy or two
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := tc.send(body)
			runtime.ReadMemStats(&after)
			mustStatus(t, r, http.StatusBadRequest)
			if !strings.Contains(string(r.body), "nests deeper than 64 levels") {
				t.Errorf("answer %s: want the depth limit named", r.body)
			}
			if n := after.TotalAlloc - before.TotalAlloc; n > maxAlloc {
				t.Errorf("refusing a deep body allocated %d bytes, want at most %d", n, maxAlloc)
			}
		})
	}
}

// TestHostile_ErrorsNeverRenderTheInput: a body that fails validation with a
// large value is answered with a short error, whatever the size of what was
// sent.
func TestHostile_ErrorsNeverRenderTheInput(t *testing.T) {
	t.Parallel()
	hl, m, _ := hostileTargets(t)
	huge := strings.Repeat("x", 200_000)
	for name, r := range map[string]apiResponse{
		"highlevel": hl.do(t, "POST", "/contacts/", jsonObj{"locationId": hl.loc.ID, "firstName": huge}),
		"m360":      m.do(t, "POST", "/v1/contacts", jsonObj{"email": "a@example.com", "firstName": huge}),
		"admin":     hl.do(t, "POST", "/__admin/clock", jsonObj{"advance": []any{huge}}),
		"badjson":   hl.do(t, "POST", "/contacts/", `{"locationId":"`+huge),
	} {
		if r.status < 400 || r.status >= 500 {
			t.Errorf("%s: status %d, want a 4xx", name, r.status)
		}
		if len(r.body) > 4096 || strings.Contains(string(r.body), strings.Repeat("x", 1000)) {
			t.Errorf("%s: error of %d bytes renders the input: %.200s", name, len(r.body), r.body)
		}
	}
}

// TestHostile_KeyCase: a key that names a field only in another case is
// refused with 422 by every API, rather than stored past the validator that
// checks the field under its exact name.
func TestHostile_KeyCase(t *testing.T) {
	t.Parallel()
	hl, m, _ := hostileTargets(t)
	long := strings.Repeat("n", 10_000)
	cases := []struct {
		name string
		r    apiResponse
		key  string
	}{
		{"highlevel create", hl.do(t, "POST", "/contacts/", jsonObj{"locationId": hl.loc.ID, "FirstName": long}), "FirstName"},
		{"m360 create", m.do(t, "POST", "/v1/contacts", jsonObj{"email": "b@example.com", "FIRSTNAME": long}), "FIRSTNAME"},
		{"admin clock", hl.do(t, "POST", "/__admin/clock", jsonObj{"Advance": "1s"}), "Advance"},
	}
	for _, tc := range cases {
		if tc.r.status != http.StatusUnprocessableEntity || !strings.Contains(string(tc.r.body), tc.key) {
			t.Errorf("%s: %s, want 422 naming %s", tc.name, tc.r, tc.key)
		}
	}
	// Exact keys still work, and a contact's unknown keys are still ignored.
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Ada", "unknownThing": 1})
	if c.FirstName != "Ada" {
		t.Fatalf("firstName %q, want Ada", c.FirstName)
	}
}

// TestHostile_BodyAsValidated: a contact's create stores the body the
// validator checked, from the value it decoded: a key that encoding/json
// would fold into a field (long s, dotless i) is refused as one in the
// wrong case, a body with more than one value is refused, and a key given
// twice is stored with its last value, the one validation checked.
func TestHostile_BodyAsValidated(t *testing.T) {
	t.Parallel()
	hl := newTwin(t)
	loc := fmt.Sprintf(`{"locationId":%q,`, hl.loc.ID)
	long := strings.Repeat("n", 10_000)
	for _, tc := range []struct {
		body   string
		status int
		want   string // in the answer
	}{
		{loc + `"firſtName":"` + long + `"}`, http.StatusUnprocessableEntity, "firſtName"},
		{loc + `"fırstName":"` + long + `"}`, http.StatusUnprocessableEntity, "fırstName"},
		{loc + `"firstName":"Ada"} {"firstName":"Eve"}`, http.StatusBadRequest, "Invalid JSON body"},
		{loc + `"firstName":"Ada"}x`, http.StatusBadRequest, "Invalid JSON body"},
		{loc + `"firstName":1,"firstName":"Ada"}`, http.StatusCreated, `"firstName":"Ada"`},
		{loc + `"firstName":"` + long + `","firstName":"Ada","lastName":"O\"Neil \u00e9","tags":[],"email":null}`,
			http.StatusCreated, `"lastName":"O\"Neil é"`},
	} {
		r := hl.do(t, "POST", "/contacts/", tc.body)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%.80s: %s, want %d with %s", tc.body, r, tc.status, tc.want)
		}
		if r.status != http.StatusCreated {
			continue
		}
		c := mustDecode[wireContactEnvelope](t, r).Contact
		got := mustDo[wireContactEnvelope](t, hl, "GET", "/contacts/"+c.ID, nil, http.StatusOK).Contact
		if got.FirstName != "Ada" || len(got.Tags) != 0 {
			t.Errorf("stored %+v, want firstName Ada and no tags", got)
		}
	}
}

// TestHostile_ManyTags: 95,000 tags in one request are stored once each;
// adding them is linear (it ran under the store's lock in 29 s when it was
// quadratic; BenchmarkManyTags measures it).
func TestHostile_ManyTags(t *testing.T) {
	t.Parallel()
	hl := newTwin(t)
	c := hl.mustCreateContact(t, jsonObj{"firstName": "Tagged"})
	r := hl.do(t, "POST", "/contacts/"+c.ID+"/tags", jsonObj{"tags": manyTags(95_000)})
	got := mustDecode[struct{ Tags []string }](t, r)
	if r.status != http.StatusCreated || len(got.Tags) != 95_000 {
		t.Fatalf("status %d with %d tags, want 201 with 95000", r.status, len(got.Tags))
	}
}

// manyTags is n distinct tags, the first thousand of them sent again in
// upper case (the same tags once lower-cased).
func manyTags(n int) []string {
	out := make([]string, 0, n+1000)
	for i := range n {
		out = append(out, fmt.Sprintf("t%d", i))
	}
	for i := range min(n, 1000) {
		out = append(out, fmt.Sprintf("T%d", i))
	}
	return out
}

func BenchmarkDeepBody(b *testing.B) {
	srv := newBenchTwin(b)
	body := deepBody(10_000)
	h := srv.HighLevel.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, benchRequest(srv, "POST", "/contacts/", body))
		if rec.Code != http.StatusBadRequest {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkManyTags(b *testing.B) {
	srv := newBenchTwin(b)
	h := srv.HighLevel.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, benchRequest(srv, "POST", "/contacts/", `{"locationId":"`+srv.Defaults().HighLevel.Location.ID+`","firstName":"T"}`))
	if rec.Code != http.StatusCreated {
		b.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	id := mustDecode[wireContactEnvelope](b, apiResponse{body: rec.Body.Bytes()}).Contact.ID
	buf, err := json.Marshal(map[string]any{"tags": manyTags(50_000)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, benchRequest(srv, "POST", "/contacts/"+id+"/tags", string(buf)))
		if rec.Code != http.StatusCreated {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

// TestHostile_KeyCaseImport: the admin state import reads record fields by
// their exact case too, and refuses a state with a field in another case
// whole.
func TestHostile_KeyCaseImport(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	before := e.srv.Store().Stats()
	st := e.srv.Store().Snapshot()
	body, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	sep := ","
	if len(st.Contacts) == 0 {
		sep = ""
	}
	bad := strings.Replace(string(body), `"contacts":[`, `"contacts":[{"ID":"x1","locationId":"`+
		e.srv.Defaults().HighLevel.Location.ID+`","dateAdded":"2026-01-01T00:00:00Z"}`+sep, 1)
	if bad == string(body) {
		t.Fatal("state has no contacts table to put the record in")
	}
	r := putState(t, e, []byte(bad))
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.raw), "contacts[0].ID") {
		t.Fatalf("import with a key in the wrong case: %d %s, want 422 naming contacts[0].ID", r.status, r.raw)
	}
	if after := e.srv.Store().Stats(); after != before {
		t.Fatalf("a refused import changed the state: %+v, was %+v", after, before)
	}
}

// TestHostile_AdminCrossSite: on both twins' listeners' admin API, a
// cross-site or other-origin request, a write whose body is not declared
// JSON, and a request to a name that is not loopback or the twin's own (DNS
// rebinding) are refused with 403 before any handler runs; the twin's own
// tools (same origin, no browser headers, JSON) pass.
func TestHostile_AdminCrossSite(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	for _, base := range []string{e.srv.HighLevel.URL(), e.srv.M360.URL()} {
		cases := []struct {
			name, method, path, ct, body string
			header                       map[string]string
			host                         string
			want                         int
		}{
			{"own tool", "POST", "/__admin/clock", "application/json", `{"advance":"1s"}`, nil, "", 200},
			{"bodiless write", "POST", "/__admin/reset", "", "", nil, "", 200},
			{"same origin", "POST", "/__admin/clock", "application/json", `{"advance":"1s"}`, map[string]string{"Origin": base, "Sec-Fetch-Site": "same-origin"}, "", 200},
			{"text/plain reset", "POST", "/__admin/reset", "text/plain", `x`, nil, "", 403},
			{"form write", "POST", "/__admin/clock", "application/x-www-form-urlencoded", `advance=1s`, nil, "", 403},
			{"cross-site fetch", "POST", "/__admin/reset", "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}, "", 403},
			{"same-site other port", "GET", "/__admin/apps", "", "", map[string]string{"Sec-Fetch-Site": "same-site"}, "", 403},
			{"other origin", "POST", "/__admin/reset", "", "", map[string]string{"Origin": "http://evil.example"}, "", 403},
			{"null origin", "GET", "/__admin/apps", "", "", map[string]string{"Origin": "null"}, "", 403},
			{"rebound name", "GET", "/__admin/apps", "", "", nil, "evil.example:8080", 403},
			{"localhost name", "GET", "/__admin/apps", "", "", nil, "localhost", 200},
		}
		for _, tc := range cases {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			hr, err := http.NewRequest(tc.method, base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.header {
				hr.Header.Set(k, v)
			}
			if tc.host != "" {
				hr.Host = tc.host
			}
			if tc.ct != "" {
				hr.Header.Set("Content-Type", tc.ct)
			}
			r := sendRaw(t, e.srv.HighLevel.Client(), hr)
			if r.status != tc.want {
				t.Errorf("%s %s: %s, want %d", base, tc.name, r, tc.want)
			}
			if tc.want == http.StatusForbidden && tc.host != "" && strings.Contains(string(r.body), tc.host) {
				t.Errorf("%s %s: the refusal echoes the Host: %s", base, tc.name, r.body)
			}
		}
	}
}

// TestHostile_NextPageURLIgnoresHost: links in a contact list start with the
// twin's own URL whatever Host the request names.
func TestHostile_NextPageURLIgnoresHost(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	for i := range 3 {
		e.mustCreateContact(t, jsonObj{"firstName": fmt.Sprintf("P%d", i)})
	}
	hr, err := http.NewRequest("GET", e.srv.HighLevel.URL()+"/contacts/?limit=1&locationId="+e.loc.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Host = "evil.example"
	hr.Header.Set("Authorization", "Bearer "+e.token)
	hr.Header.Set("Version", versionContacts)
	list := mustDecode[wireContactsList](t, sendRaw(t, e.client, hr))
	if list.Meta.NextPageURL == nil || !strings.HasPrefix(*list.Meta.NextPageURL, e.srv.HighLevel.URL()+"/contacts/?") {
		t.Fatalf("nextPageUrl %v, want it under %s", list.Meta.NextPageURL, e.srv.HighLevel.URL())
	}
}

// sendRaw sends hr as it is (exchange sets a Content-Type on every body).
func sendRaw(t *testing.T, client *http.Client, hr *http.Request) apiResponse {
	t.Helper()
	resp, err := client.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", hr.Method, hr.URL.Path, err)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", hr.Method, hr.URL.Path, err)
	}
	return apiResponse{status: resp.StatusCode, header: resp.Header, body: buf}
}

// newListening starts a server on loopback listeners with opts (seed 1 and
// no logs unless they say otherwise).
func newListening(t *testing.T, opts mock.Options) *mock.Server {
	t.Helper()
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	srv, err := mock.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return srv
}

// rawExchange writes req on a new connection to base and returns all the
// server sent until it closed the connection; it fails the test when the
// server keeps it open past the deadline (a bound, not a wait: the server
// answers or closes long before).
func rawExchange(t *testing.T, base, req string, deadline time.Duration) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(deadline)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("the server kept the connection open past %s (read: %v); got %q", deadline, err, got)
	}
	return string(got)
}

// TestHostile_ExpectContinueBadToken: a request that asks to continue with
// its body gets its 401 without the server asking for the body (no "100
// Continue"), on both twins.
func TestHostile_ExpectContinueBadToken(t *testing.T) {
	t.Parallel()
	srv := newListening(t, mock.Options{})
	for _, tc := range []struct{ name, base, path, auth string }{
		{"highlevel", srv.HighLevel.URL(), "/contacts/", "Bearer not-a-token"},
		{"m360", srv.M360.URL(), "/v1/contacts", "Basic bm86bm8="},
	} {
		got := rawExchange(t, tc.base, "POST "+tc.path+" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "+tc.auth+
			"\r\nVersion: 2021-07-28\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", 30*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 401 ") {
			t.Errorf("%s: answer %.200q, want a 401 first (no 100 Continue)", tc.name, got)
		}
	}
	// With a good token the server asks for the body and answers it.
	got := rawExchange(t, srv.HighLevel.URL(), "POST /contacts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "+srv.Defaults().HighLevel.Token+
		"\r\nVersion: 2021-07-28\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n{}", 30*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 100 Continue") || !strings.Contains(got, "HTTP/1.1 422 ") {
		t.Errorf("good token: %.300q, want 100 Continue then 422", got)
	}
}

// TestHostile_SlowBodyTimesOut: a client that sends part of a body and
// stalls has its connection closed after the read timeout, and an idle
// kept-alive connection after the idle timeout, on both twins.
func TestHostile_SlowBodyTimesOut(t *testing.T) {
	t.Parallel()
	srv := newListening(t, mock.Options{Timeouts: mock.TimeoutOptions{
		Read: clock.Duration(300 * time.Millisecond), Idle: clock.Duration(300 * time.Millisecond)}})
	for _, base := range []string{srv.HighLevel.URL(), srv.M360.URL()} {
		rawExchange(t, base, "POST /contacts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":", 20*time.Second)
		rawExchange(t, base, "GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 20*time.Second)
	}
}

// TestHostile_SettingsBoundedAtStart: settings the process cannot honour are
// refused by NewServer with a message naming them, never a panic.
func TestHostile_SettingsBoundedAtStart(t *testing.T) {
	t.Parallel()
	hugeInterval := limits.DefaultConfig()
	hugeInterval.Interval = clock.Duration(1000 * time.Hour)
	hugeBucket := limits.DefaultLeakyConfig()
	hugeBucket.Capacity = 1 << 40
	for _, tc := range []struct {
		name string
		opts mock.Options
		want string
	}{
		{"journal size", mock.Options{Journal: mock.JournalOptions{Size: math.MaxInt64}}, "journal.size"},
		{"negative timeout", mock.Options{Timeouts: mock.TimeoutOptions{Read: -1}}, "timeouts.read"},
		{"timeout over a day", mock.Options{Timeouts: mock.TimeoutOptions{Idle: clock.Duration(48 * time.Hour)}}, "timeouts.idle"},
		{"negative import limit", mock.Options{Admin: mock.AdminOptions{MaxImportBytes: -1}}, "admin.maxImportBytes"},
		{"highlevel interval", mock.Options{HighLevel: mock.HighLevelOptions{Limits: &hugeInterval}}, "interval"},
		{"m360 capacity", mock.Options{M360: mock.M360Options{Limits: &hugeBucket}}, "capacity"},
		{"fault on no operation", mock.Options{Faults: []faults.Rule{{Match: faults.Match{Operation: "get-contactz"},
			Effect: faults.Effect{Kind: faults.KindError, Status: 503}}}}, "get-contactz"},
		{"fault latency past an hour", mock.Options{Faults: []faults.Rule{{Effect: faults.Effect{Kind: faults.KindLatency,
			Latency: &faults.Latency{Distribution: faults.DistFixed, Fixed: faults.Duration(2 * time.Hour)}}}}}, "effect.latency.fixed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.NoListener, tc.opts.Logger = true, slog.New(slog.DiscardHandler)
			srv, err := mock.NewServer(tc.opts)
			if err == nil {
				srv.Close()
				t.Fatalf("NewServer took %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewServer: %v, want it to name %s", err, tc.want)
			}
		})
	}
	// Fault rules on either twin's operations are taken.
	srv, err := mock.NewServer(mock.Options{NoListener: true, Logger: slog.New(slog.DiscardHandler), Faults: []faults.Rule{
		{Match: faults.Match{Operation: "get-contacts"}, Effect: faults.Effect{Kind: faults.KindError, Status: 503}},
		{Match: faults.Match{Operation: "m360-list-contacts"}, Effect: faults.Effect{Kind: faults.KindError, Status: 503}}}})
	if err != nil {
		t.Fatalf("NewServer with rules on both twins: %v", err)
	}
	srv.Close()
}

// TestHostile_SettingsBoundedByAdmin: the admin API refuses the same
// settings with 422, and a clock move past year 9999 (which made every
// date, the state export's included, unwritable), leaving the twin working.
func TestHostile_SettingsBoundedByAdmin(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	for _, tc := range []struct {
		name, method, path string
		body               any
	}{
		{"fault on no operation", "POST", "/__admin/faults", jsonObj{"match": jsonObj{"operation": "nope"}, "effect": jsonObj{"kind": "error", "status": 503}}},
		{"fault latency", "POST", "/__admin/faults", jsonObj{"effect": jsonObj{"kind": "latency", "latency": jsonObj{"distribution": "fixed", "fixed": "100h"}}}},
		{"limits interval", "PUT", "/__admin/limits", jsonObj{"enabled": true, "burst": 10, "interval": "1000h", "daily": 10}},
		{"limits burst", "PUT", "/__admin/limits", jsonObj{"enabled": true, "burst": int64(1) << 50, "interval": "10s", "daily": 10}},
		{"m360 capacity", "PUT", "/__admin/m360/limits", jsonObj{"enabled": true, "perSecond": 5, "capacity": int64(1) << 40}},
		{"m360 rate", "PUT", "/__admin/m360/limits", jsonObj{"enabled": true, "perSecond": 1e12, "capacity": 5}},
		{"clock set past 9999", "POST", "/__admin/clock", jsonObj{"set": "9999-12-31T23:59:59.5Z"}},
	} {
		if r := e.do(t, tc.method, tc.path, tc.body); r.status != http.StatusUnprocessableEntity {
			t.Errorf("%s: %s, want 422", tc.name, r)
		}
	}
	// Advancing by the longest duration Go has, again and again, stops
	// short of year 10000.
	refused := false
	for range 40 {
		r := e.do(t, "POST", "/__admin/clock", jsonObj{"advance": time.Duration(math.MaxInt64).String()})
		if r.status == http.StatusUnprocessableEntity {
			refused = true
			break
		}
		mustStatus(t, r, http.StatusOK)
	}
	if !refused {
		t.Fatal("the clock advanced past year 9999")
	}
	mustStatus(t, e.do(t, "GET", "/__admin/state", nil), http.StatusOK)
}

// TestHostile_SecretsNeverJournaled: whatever the content type declared,
// the key's spelling, the header or the size, no secret sent to either twin
// reaches the journal, and a webhook URL's password is shown redacted.
func TestHostile_SecretsNeverJournaled(t *testing.T) {
	t.Parallel()
	hl := newTwin(t)
	m := m360EnvOf(hl.srv, hl.clk)
	const secret = "Zq9-very-secret-4242"
	pad := strings.Repeat("p", 20_000)
	hl.call(t, apiRequest{method: "POST", path: "/oauth/token", contentType: "application/json",
		body: "grant_type=client_credentials&client_id=x&client_secret=" + secret})
	hl.do(t, "POST", "/contacts/", jsonObj{"locationId": hl.loc.ID, "clientSecret": secret, "note": pad + `"client_secret":"` + secret})
	hl.call(t, apiRequest{method: "POST", path: "/contacts/", contentType: "text/plain", body: `{"password":"` + secret + `"}`})
	m.do(t, "POST", "/v1/contacts", jsonObj{"email": "s@example.com", "client_secret": secret, "apiKey": secret})
	m.do(t, "POST", "/v1/webhooks", jsonObj{"url": "https://hook:" + secret + "@example.com/in", "events": []string{"contact.created"}})
	for _, base := range []string{hl.srv.HighLevel.URL(), hl.srv.M360.URL()} {
		hr, err := http.NewRequest("GET", base+"/contacts/?locationId="+hl.loc.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("X-Api-Key", secret)
		hr.Header.Set("Api_Key", secret)
		sendRaw(t, hl.client, hr)
	}
	r := hl.do(t, "GET", "/__admin/requests?limit=100", nil)
	mustStatus(t, r, http.StatusOK)
	if n := strings.Count(string(r.body), `"id":`); n < 7 {
		t.Fatalf("the journal holds %d requests, want the 7 sent", n)
	}
	if strings.Contains(string(r.body), secret[:6]) {
		t.Fatalf("the journal holds a secret: %s", r.body)
	}
}
