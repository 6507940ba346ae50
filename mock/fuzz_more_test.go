package mock_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

// fuzzGet sends a GET of base+path with the raw query string, returning the
// answer; false when the text is no URL at all (the client cannot send it).
func fuzzGet(t *testing.T, client *http.Client, base, path, rawQuery string, header http.Header) (int, []byte, bool) {
	t.Helper()
	u, err := url.Parse(base + path)
	if err != nil {
		t.Fatal(err)
	}
	u.RawQuery = rawQuery
	hr, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil || strings.ContainsAny(rawQuery, " #\x00\r\n\t\x7f") {
		return 0, nil, false
	}
	hr.Header = header.Clone()
	resp, err := client.Do(hr)
	if err != nil {
		return 0, nil, false
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, raw, true
}

// FuzzQueryParams: any query string on the read operations of both twins
// and the admin API is answered without a 5xx (strict drift aside), and a
// 2xx answer is JSON.
func FuzzQueryParams(f *testing.F) {
	// A short journal: strict mode validates each answer of
	// /__admin/requests, which at the default 1,000 entries made one
	// input in ten cost ~10 ms.
	e := newTwinWith(f, mock.Options{Seed: 1, Journal: mock.JournalOptions{Size: 50}})
	m := m360EnvOf(e.srv, e.clk)
	c := e.mustCreateContact(f, jsonObj{"firstName": "Fuzz", "email": "fuzz@example.com"})
	m.mustContact(f, jsonObj{"email": "fuzz@example.com"})
	key := e.srv.Defaults().M360.Key
	basic, _ := http.NewRequest("GET", "/", nil)
	basic.SetBasicAuth(key.ClientID, key.ClientSecret)
	hlHeader := http.Header{"Authorization": {"Bearer " + e.token}, "Version": {versionContacts}}
	targets := []struct {
		base, path string
		header     http.Header
	}{
		{e.srv.HighLevel.URL(), "/contacts/", hlHeader},
		{e.srv.HighLevel.URL(), "/contacts/search/duplicate", hlHeader},
		{e.srv.HighLevel.URL(), "/contacts/" + c.ID + "/tasks", hlHeader},
		{e.srv.HighLevel.URL(), "/calendars/events", http.Header{"Authorization": {"Bearer " + e.token}, "Version": {"2021-04-15"}}},
		{e.srv.HighLevel.URL(), "/oauth/chooselocation", http.Header{}},
		{e.srv.M360.URL(), "/v1/contacts", basic.Header},
		{e.srv.M360.URL(), "/v1/tasks", basic.Header},
		{e.srv.M360.URL(), "/v1/notes", basic.Header},
		{e.srv.HighLevel.URL(), "/__admin/requests", http.Header{}},
		{e.srv.HighLevel.URL(), "/__admin/webhooks/deliveries", http.Header{}},
	}
	loc := e.loc.ID
	for i, q := range []string{
		"locationId=" + loc + "&limit=5", "locationId=" + loc + "&startAfter=1e300&startAfterId=x",
		"locationId=" + loc + "&query=%zz", "locationId=" + loc + "&limit=-1", "locationId=" + loc + "&email=FUZZ@example.com",
		"page=0&pageSize=1000000", "page=99999999999999999999", "locationId=" + loc + "&startTime=1&endTime=9e18&calendarId=x",
		"response_type=code&client_id=x&redirect_uri=http://127.0.0.1:8080/oauth/callback", "limit=1&since=2026-13-01T00:00:00Z",
		"a=%ff%fe&b=\u212a", "locationId=" + loc + ";x=1", "",
	} {
		f.Add(uint8(i), q)
	}
	client := e.srv.HighLevel.Client()
	f.Fuzz(func(t *testing.T, which uint8, rawQuery string) {
		target := targets[int(which)%len(targets)]
		status, raw, sent := fuzzGet(t, client, target.base, target.path, rawQuery, target.header)
		if !sent {
			return
		}
		fuzzAnswer(t, fuzzTarget{"GET", target.path + "?" + rawQuery}, status, raw)
		if status/100 == 2 && !json.Valid(raw) {
			t.Fatalf("GET %s?%s: %d, not JSON: %.200s", target.path, rawQuery, status, raw)
		}
	})
}

// FuzzAdminImport: any body PUT to /__admin/state is answered without a
// 5xx; a refused one changes nothing, and an accepted one is what the state
// then holds (its counts) and exports again to an import that is accepted.
func FuzzAdminImport(f *testing.F) {
	e := newTwin(f)
	c := e.mustCreateContact(f, jsonObj{"firstName": "Fuzz", "email": "fuzz@example.com"})
	e.mustCreateTask(f, c.ID, "fuzz")
	base := e.srv.Store().Snapshot()
	seed, err := json.Marshal(base)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add(strings.Replace(string(seed), `"tasks":[`, `"tasks":[{"id":"t1","contactId":"ghost","title":"x"},`, 1))
	f.Add(strings.Replace(string(seed), `"firstName":"Fuzz"`, `"firstName":"`+strings.Repeat("x", 300)+`"`, 1))
	f.Add(`{"locations":[],"contacts":[],"tasks":[],"notes":[],"appointments":[]}`)
	f.Add(`{"locations":[{"id":"L","name":"\ud800"}],"contacts":[],"tasks":[],"notes":[],"appointments":[]}`)
	f.Add(`{"locations":[{"id":"L"},{"id":"L"}],"contacts":[{"id":"c","locationId":"L","dateAdded":"2026-01-01T00:00:00Z","email":"\u212a@x"}],"tasks":[],"notes":[],"appointments":[],"m360Accounts":[{"id":-1}]}`)
	f.Add(`{"contacts":[` + strings.Repeat(`{"id":"x",`, 80) + `}`)
	f.Fuzz(func(t *testing.T, body string) {
		before, err := json.Marshal(e.srv.Store().Snapshot())
		if err != nil {
			t.Fatal(err)
		}
		r := e.do(t, "PUT", "/__admin/state?events=false", json.RawMessage(body))
		fuzzAnswer(t, fuzzTarget{"PUT", "/__admin/state"}, r.status, r.body)
		if r.status != http.StatusOK {
			after, _ := json.Marshal(e.srv.Store().Snapshot())
			if !bytes.Equal(before, after) {
				t.Fatalf("a refused import (%d %.200s) changed the state", r.status, r.body)
			}
			return
		}
		var counts map[string]int
		if err := json.Unmarshal(r.body, &counts); err != nil {
			t.Fatalf("import answer %s: %v", r.body, err)
		}
		if st := e.srv.Store().Stats(); counts["contacts"] != st.Contacts || counts["tasks"] != st.Tasks || counts["locations"] != st.Locations {
			t.Fatalf("import answered %v, the state holds %+v", counts, st)
		}
		exported := e.srv.Store().Snapshot()
		if again := e.do(t, "PUT", "/__admin/state?events=false", exported); again.status != http.StatusOK {
			t.Fatalf("the export of an accepted import is refused: %d %.300s", again.status, again.body)
		}
		if err := e.srv.Store().Restore(base); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzOAuthToken: any form posted to the token endpoint is answered without
// a 5xx, and no secret reaches the journal: the app's client secret, which
// every form carries under one of the spellings of its name, and the
// tokens the endpoint issued.
func FuzzOAuthToken(f *testing.F) {
	o := newOAuthTwin(f)
	app := o.app
	code := o.mustCode(f, "/oauth/chooselocation", o.authorizeQuery("", "s"))
	spellings := []string{"client_secret", "clientSecret", "CLIENT_SECRET", "client%5Fsecret", "x-client-secret"}
	for i, form := range []string{
		"client_id=" + app.ClientID + "&grant_type=client_credentials",
		"client_id=" + app.ClientID + "&grant_type=authorization_code&code=" + code + "&redirect_uri=" + url.QueryEscape(app.RedirectURIs[0]),
		"client_id=" + app.ClientID + "&grant_type=refresh_token&refresh_token=nope",
		`{"client_id":"` + app.ClientID + `","grant_type":"client_credentials"}`,
		"grant_type=%zz", strings.Repeat("pad=1&", 3000) + "client_id=" + app.ClientID,
		"client_id=" + app.ClientID + "&grant_type=client_credentials&location_id=elsewhere",
		"\xff\xfe=1", "",
	} {
		f.Add(form, uint8(i))
	}
	f.Fuzz(func(t *testing.T, form string, spelling uint8) {
		if strings.Contains(form, app.ClientSecret) {
			t.Skip("the form names the secret under a name of its own")
		}
		mustStatus(t, o.do(t, "DELETE", "/__admin/requests", nil), http.StatusOK)
		body := form + "&" + spellings[int(spelling)%len(spellings)] + "=" + app.ClientSecret + "&client_id=" + app.ClientID
		r := o.call(t, apiRequest{method: http.MethodPost, path: "/oauth/token", body: body,
			contentType: "application/x-www-form-urlencoded", token: omitHeader, version: omitHeader})
		fuzzAnswer(t, fuzzTarget{"POST", "/oauth/token"}, r.status, r.body)
		secrets := []string{app.ClientSecret}
		var issued struct {
			Access  string `json:"access_token"`
			Refresh string `json:"refresh_token"`
		}
		if r.status == http.StatusOK && json.Unmarshal(r.body, &issued) == nil {
			secrets = append(secrets, issued.Access, issued.Refresh)
		}
		journal := o.do(t, "GET", "/__admin/requests?limit=100", nil)
		mustStatus(t, journal, http.StatusOK)
		for _, s := range secrets {
			if len(s) >= 8 && bytes.Contains(journal.body, []byte(s)) {
				t.Fatalf("the journal holds a secret (%d chars) of body %q", len(s), body)
			}
		}
	})
}
