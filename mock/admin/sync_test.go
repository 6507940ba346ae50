package admin_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/contactbridge/contactbridge/mock/admin"
)

// fakeSync is a SyncView that answers what it is given.
type fakeSync struct {
	status, differences any
	err                 error
}

func (f fakeSync) Status(context.Context) (any, error)      { return f.status, f.err }
func (f fakeSync) Differences(context.Context) (any, error) { return f.differences, f.err }

func TestAPI_SyncView(t *testing.T) {
	t.Parallel()
	api := &admin.API{}
	h := newHandler(t, api)
	for _, path := range []string{"/__admin/sync/status", "/__admin/sync/differences"} {
		a := call(t, h, http.MethodGet, path, "").want(t, http.StatusNotFound)
		if a.body["message"] != "no sync is attached to this twin (run contactbridge up)" {
			t.Errorf("%s without a sync: %s", path, a.raw)
		}
	}

	api.AttachSync(fakeSync{status: map[string]any{"queue": map[string]int{"converge/available": 2}},
		differences: map[string]any{"total": 1, "differences": []map[string]string{{"hlId": "h1"}}}})
	a := call(t, h, http.MethodGet, "/__admin/sync/status", "").want(t, http.StatusOK)
	if q, _ := a.body["queue"].(map[string]any); q["converge/available"] != float64(2) {
		t.Errorf("status: %s", a.raw)
	}
	a = call(t, h, http.MethodGet, "/__admin/sync/differences", "").want(t, http.StatusOK)
	if a.body["total"] != float64(1) {
		t.Errorf("differences: %s", a.raw)
	}

	api.AttachSync(fakeSync{err: errors.New("database is closed")})
	call(t, h, http.MethodGet, "/__admin/sync/status", "").want(t, http.StatusInternalServerError)

	api.AttachSync(nil)
	call(t, h, http.MethodGet, "/__admin/sync/differences", "").want(t, http.StatusNotFound)
}
