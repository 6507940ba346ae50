package mock_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock"
)

// TestScopes_EveryOperationAgainstEveryScope is generated from the spec: for
// each authenticated operation it mints a token lacking each required scope
// (and one holding every other scope) and one holding exactly the required
// scopes. The first must be refused as the live API refuses, the second must
// get past authorization (to validation, a 404 or success).
func TestScopes_EveryOperationAgainstEveryScope(t *testing.T) {
	t.Parallel()
	e := newAdmTwin(t, mock.Options{})
	loc := e.srv.Defaults().HighLevel.Location.ID
	all := mock.SpecScopes(e.srv.HighLevel.Spec())
	mint := func(t *testing.T, scopes []string) string {
		t.Helper()
		r := e.do(t, "POST", "/__admin/tokens", "", map[string]any{"locationId": loc, "scopes": scopes, "expiresIn": -1})
		e.want(t, r, http.StatusCreated)
		return r.body["token"].(string)
	}
	checked := 0
	for _, op := range e.srv.HighLevel.Spec().Operations() {
		if !op.Authenticated {
			continue
		}
		path := strings.ReplaceAll(op.Path, "{locationId}", loc)
		for _, p := range []string{"{contactId}", "{taskId}", "{id}", "{eventId}", "{businessId}"} {
			path = strings.ReplaceAll(path, p, "unknownid")
		}
		if strings.HasPrefix(path, "/contacts/?") || path == "/contacts/" || strings.Contains(path, "search/duplicate") || strings.Contains(path, "business") {
			path += "?locationId=" + loc
		}
		var body any
		if op.Spec.RequestBody != nil {
			body = map[string]any{}
		}
		version := "2021-07-28"
		if strings.HasPrefix(op.Path, "/calendars/") {
			version = "2021-04-15"
		}
		send := func(t *testing.T, token string) admResp {
			t.Helper()
			return e.doVersion(t, op.Method, path, token, body, version)
		}
		for _, missing := range op.Scopes {
			without := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == missing })
			r := send(t, mint(t, without))
			if r.status != http.StatusUnauthorized || r.body["message"] != "The token is not authorized for this scope." {
				t.Errorf("%s without %s: %d %s", op.ID, missing, r.status, r.raw)
			}
		}
		r := send(t, mint(t, op.Scopes))
		if r.status == http.StatusUnauthorized || r.status == http.StatusForbidden {
			t.Errorf("%s with exactly %v: refused %d %s", op.ID, op.Scopes, r.status, r.raw)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("checked only %d operations", checked)
	}
}
