package transport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
)

// drifted makes get-contact answer a contact whose email is a number.
const drifted = `{"match":{"operation":"get-contact"},"effect":{"kind":"error","status":200,` +
	`"body":{"contact":{"id":"c1","locationId":"l","email":42}}}}`

func TestStrictValidationNamesTheDriftedField(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	w.AddFault(drifted)
	c, _ := strictHighLevel(t, w, &Bearer{Token: w.PIT(), Location: w.Location()}, w.Clock())
	_, err := c.GetContactWithResponse(context.Background(), "c1", nil)
	var de *DriftError
	if !errors.As(err, &de) || !errors.Is(err, ErrDrift) {
		t.Fatalf("err = %v, want a *DriftError", err)
	}
	if !de.Response || de.Operation != "get-contact" || de.Field != "contact.email" {
		t.Errorf("drift %+v, want the answer of get-contact at contact.email", de)
	}
	if !strings.Contains(err.Error(), "contact.email") {
		t.Errorf("message %q does not name the field", err)
	}
}

func TestStrictValidationStopsADriftedRequest(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	c, _ := strictHighLevel(t, w, &Bearer{Token: w.PIT(), Location: w.Location()}, w.Clock())
	// A task without its required title.
	_, err := c.CreateTaskWithBodyWithResponse(context.Background(), "c1", nil, "application/json", strings.NewReader(`{"dueDate":"2026-01-02T00:00:00Z","completed":false}`))
	var de *DriftError
	if !errors.As(err, &de) || de.Response || de.Operation != "create-task" {
		t.Fatalf("err = %v, want a request drift of create-task", err)
	}
	if n := w.Count("create-task"); n != 0 {
		t.Errorf("%d requests reached the twin, want none", n)
	}
}

func TestRunTimeValidationCountsDrift(t *testing.T) {
	w := twintest.New(t, twintest.Options{})
	w.AddFault(drifted)
	var logs strings.Builder
	stack := New(Config{Auth: &Bearer{Token: w.PIT(), Location: w.Location()}, Specs: []*openapi.Spec{w.HighLevelSpec()},
		Clock: w.Clock(), Base: w.Base(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	req, _ := http.NewRequest(http.MethodGet, w.HighLevelURL()+"/contacts/c1", nil)
	req.Header.Set(highlevelapi.HeaderVersion, "2021-07-28")
	res, err := stack.Client().Do(req)
	if err != nil {
		t.Fatalf("the call failed: %v; at run time a drift must not fail it", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"email":42`) {
		t.Errorf("answer %d %s, want the drifted answer passed on", res.StatusCode, body)
	}
	if got := stack.Validate.Drift(); got["get-contact"] != 1 {
		t.Errorf("drift %v, want get-contact: 1", got)
	}
	if !strings.Contains(logs.String(), "contact.email") || strings.Contains(logs.String(), w.PIT()) {
		t.Errorf("log %q: want the field named and no token", logs.String())
	}
}
