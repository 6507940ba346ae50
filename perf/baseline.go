package perf

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/openapi"
)

// baselineSample is how many contacts baselineBody draws its contact from.
const baselineSample = 25

// baselineBody is the baseline's answer to every request: a contact of the
// workloads' data set (scenario "default", in a location like the twin's)
// wrapped as the twin wraps GET /contacts/{id}, with the fields the twin
// adds, so it is about the size of the twin's answer (about 800 bytes).
func baselineBody() []byte {
	id := identity{location: store.Location{ID: "ve9EPM428h8vShlRW1KT", CustomFields: []store.CustomFieldDef{
		{ID: "yXSAo1oE2Yw1I6LuLEU6", Key: "contact.lead_score"}, {ID: "mqgz9gznKFGQAud80ENz", Key: "contact.plan"}}}}
	ds, _, err := id.dataSet(dataSetScenario, baselineSample, func(o *fixtures.Options) {
		o.M360Account, o.LinkedShare, o.M360Contacts, o.AppointmentsPerContact = nil, 0, 0, 0
	})
	if err != nil {
		panic(err) // the embedded scenario always generates
	}
	// The contact of median size.
	raws := make([][]byte, len(ds.State.Contacts))
	for i, c := range ds.State.Contacts {
		if raws[i], err = json.Marshal(c); err != nil {
			panic(err) // a store.Contact always marshals
		}
	}
	slices.SortStableFunc(raws, func(a, b []byte) int { return cmp.Compare(len(a), len(b)) })
	raw := raws[len(raws)/2]
	var c store.Contact
	if err := json.Unmarshal(raw, &c); err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err)
	}
	m["emailLowerCase"] = strings.ToLower(c.Email)
	m["firstNameLowerCase"] = strings.ToLower(c.FirstName)
	m["lastNameLowerCase"] = strings.ToLower(c.LastName)
	m["fullNameLowerCase"] = strings.ToLower(c.Name)
	m["deleted"] = false
	m["dateAdded"] = c.DateAdded.Format("2006-01-02T15:04:05.000Z")
	m["dateUpdated"] = c.DateUpdated.Format("2006-01-02T15:04:05.000Z")
	body, err := json.Marshal(map[string]any{"contact": m})
	if err != nil {
		panic(err)
	}
	return body
}

// BaselineHandler is the baseline: a bare net/http handler that reads the
// request and answers every path with the same fixed JSON contact, 201 to a
// POST and 200 otherwise, except GET /contacts/ (the list), which it answers
// with list when list is not nil: the twin's own answer to the workloads'
// list, so that the list's ratio compares the same bytes. It checks nothing.
func BaselineHandler(list []byte) http.Handler {
	return fixedAnswers(baselineBody(), list, nil)
}

// fixedAnswers answers as BaselineHandler does, after check, when not nil,
// has accepted the request (it answers the request itself when it does not).
func fixedAnswers(contact, list []byte, check func(http.ResponseWriter, *http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if check != nil && !check(w, r) {
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		body := contact
		if list != nil && r.Method == http.MethodGet && r.URL.Path == "/contacts/" {
			body = list
		}
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_, _ = w.Write(body)
	})
}

// ValidatorHandler is the second reference line: a server that only routes
// and validates each request with kin-openapi over spec, as the twin's
// pipeline asks it to (no authentication, every error one 400), and then
// answers as BaselineHandler does. It keeps no state and encodes nothing.
func ValidatorHandler(spec *openapi.Spec, list []byte) http.Handler {
	return fixedAnswers(baselineBody(), list, func(w http.ResponseWriter, r *http.Request) bool {
		route, err := spec.FindRoute(r)
		if err == nil {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: r, PathParams: route.PathParams, Route: route.Route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
					MultiError: true, SkipSettingDefaults: true},
			})
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return false
		}
		return true
	})
}

// ServeBaseline serves handler (BaselineHandler or ValidatorHandler) on
// addr, a loopback address, until ctx ends. It is what `contactbridge bench
// --serve-baseline ADDR` runs, so the baseline is a process of its own,
// measured as the twin is.
func ServeBaseline(ctx context.Context, addr string, handler http.Handler) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("perf: baseline address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("perf: baseline address %s: loopback only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("perf: baseline: %w", err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("perf: baseline: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
