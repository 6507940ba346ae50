package mock_test

import (
	"net/http"
	"strings"
	"testing"
)

// Text identity and numeric cursors (issue 12, class 10), on both twins:
// emails compare by NFC and simple case folding, text that is not UTF-8 is
// refused rather than replaced, numeric cursors are range-checked, and a
// query string that does not decode is refused.

// TestHostile_EmailIdentity: in a location that forbids duplicates, an
// email in another case is the same email, the Kelvin sign (which NFC turns
// into K) and a decomposed accent are refused with 422, never taken for or
// stored beside another email; Marketing 360 compares the same way.
func TestHostile_EmailIdentity(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	loc, token := e.addLocation(t, "TextIdentityLoc00001", false)
	create := func(email string) apiResponse {
		return e.call(t, apiRequest{method: http.MethodPost, path: "/contacts/", token: token,
			body: jsonObj{"locationId": loc.ID, "email": email}})
	}
	mustStatus(t, create("kate@example.com"), http.StatusCreated)
	mustStatus(t, create("KATE@Example.COM"), http.StatusBadRequest) // the duplicate
	for _, email := range []string{"\u212aate@example.com", "ange\u0301@example.com"} {
		r := create(email)
		mustStatus(t, r, http.StatusUnprocessableEntity)
		if !strings.Contains(string(r.body), "NFC") {
			t.Errorf("%q: %s, want the NFC rule named", email, r.body)
		}
	}
	mustStatus(t, create("ang\u00e9@example.com"), http.StatusCreated)

	m := m360EnvOf(e.srv, e.clk)
	mustStatus(t, m.do(t, "POST", "/v1/contacts", jsonObj{"email": "kate@example.com"}), http.StatusCreated)
	mustStatus(t, m.do(t, "POST", "/v1/contacts", jsonObj{"email": "Kate@Example.com"}), http.StatusConflict)
	r := m.do(t, "POST", "/v1/contacts", jsonObj{"email": "\u212aate@example.com"})
	mustStatus(t, r, http.StatusUnprocessableEntity)
}

// TestHostile_InvalidUTF8Refused: a body with bytes that are not UTF-8, or
// with half a surrogate pair escaped, is refused with 422 by every API, and
// the admin import names the record.
func TestHostile_InvalidUTF8Refused(t *testing.T) {
	t.Parallel()
	hl, _, targets := hostileTargets(t)
	for _, tc := range targets {
		for _, body := range []string{"{\"firstName\":\"\xff\xfe\"}", `{"firstName":"\ud800"}`, `{"firstName":"a\udc00"}`} {
			if r := tc.send(body); r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "UTF-8") {
				t.Errorf("%s %q: %d %s, want 422 naming UTF-8", tc.name, body, r.status, r.body)
			}
		}
	}
	r := hl.do(t, "PUT", "/__admin/state", `{"locations":[{"id":"L","name":"\ud800"}],"contacts":[],"tasks":[],"notes":[],"appointments":[]}`)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"table":"locations"`) {
		t.Errorf("import with a lone surrogate: %d %s", r.status, r.body)
	}
}

// TestHostile_NumericCursorsRangeChecked: a startAfter or searchAfter time
// no date of the twin can be (past year 9999, before year 1, not whole) is
// a 422 in the API's shape, never a time that overflowed.
func TestHostile_NumericCursorsRangeChecked(t *testing.T) {
	t.Parallel()
	e := newTwin(t)
	for _, after := range []string{"1e300", "-1e300", "253402300800000", "1.5"} {
		r := e.do(t, "GET", "/contacts/?locationId="+e.loc.ID+"&startAfterId=x&startAfter="+after, nil)
		mustStatus(t, r, http.StatusUnprocessableEntity)
	}
	mustStatus(t, e.do(t, "GET", "/contacts/?locationId="+e.loc.ID+"&startAfterId=x&startAfter=1603870249758", nil), http.StatusOK)
	for _, after := range []any{1e300, -1e300, 0.5} {
		r := e.do(t, "POST", "/contacts/search", jsonObj{"locationId": e.loc.ID, "pageLimit": 10,
			"sort": []jsonObj{{"field": "dateUpdated", "direction": "asc"}}, "searchAfter": []any{after, "x"}})
		mustStatus(t, r, http.StatusUnprocessableEntity)
	}
}

// TestHostile_QueryEncodingRefused: a query string that does not decode is
// a 400 on every API, not a request with the parameter left out.
func TestHostile_QueryEncodingRefused(t *testing.T) {
	t.Parallel()
	hl := newTwin(t)
	m := m360EnvOf(hl.srv, hl.clk)
	for name, r := range map[string]apiResponse{
		"highlevel":    hl.do(t, "GET", "/contacts/?locationId="+hl.loc.ID+"&query=%zz", nil),
		"m360":         m.do(t, "GET", "/v1/contacts?page=%zz", nil),
		"m360 account": m.do(t, "GET", "/v1/account?x=%zz", nil),
		"admin":        hl.do(t, "GET", "/__admin/requests?method=%zz", nil),
	} {
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "query") {
			t.Errorf("%s: %d %s, want 400 naming the query", name, r.status, r.body)
		}
	}
}
