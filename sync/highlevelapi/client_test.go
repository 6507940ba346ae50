package highlevelapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
)

// doer is a fake HttpRequestDoer.
type doer struct {
	do func(*http.Request) (*http.Response, error)
}

func (d doer) Do(r *http.Request) (*http.Response, error) { return d.do(r) }

func answer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

func client(t *testing.T, do func(*http.Request) (*http.Response, error)) *highlevelapi.ClientWithResponses {
	t.Helper()
	c, err := highlevelapi.New("http://hl.test", doer{do})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRouteVersion(t *testing.T) {
	var got []string
	c := client(t, func(r *http.Request) (*http.Response, error) {
		got = append(got, r.URL.Path+" "+r.Header.Get("Version"))
		return answer(200, `{}`), nil
	})
	ctx := context.Background()
	if _, err := c.GetContactWithResponse(ctx, "c1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EditAppointmentWithResponse(ctx, "e1", nil, highlevelapi.EditAppointmentJSONRequestBody{}); err != nil {
		t.Fatal(err)
	}
	// A version the caller names is kept.
	if _, err := c.GetContactWithResponse(ctx, "c2", &highlevelapi.GetContactParams{Version: "2023-02-21"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"/contacts/c1 2021-07-28", "/calendars/events/appointments/e1 2021-04-15", "/contacts/c2 2023-02-21"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests = %q, want %q", got, want)
	}
	if v := highlevelapi.RouteVersion("create-appointment"); v != "2021-04-15" {
		t.Errorf("RouteVersion(create-appointment) = %q", v)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		is     error
		msg    string
	}{
		{404, `{"statusCode":404,"message":"Contact not found","error":"Not Found"}`, highlevelapi.ErrNotFound, "highlevelapi: 404 Contact not found"},
		{422, `{"statusCode":422,"message":["email must be an email","phone must be a string"],"error":"Unprocessable Entity"}`,
			highlevelapi.ErrValidation, "highlevelapi: 422 email must be an email; phone must be a string"},
		{400, `{"statusCode":400,"message":"This location does not allow duplicated contacts.","meta":{"contactId":"abc","matchingField":"email"}}`,
			highlevelapi.ErrDuplicate, "highlevelapi: 400 This location does not allow duplicated contacts."},
		{502, `<html>bad gateway</html>`, nil, "highlevelapi: 502 <html>bad gateway</html>"},
	} {
		c := client(t, func(*http.Request) (*http.Response, error) { return answer(tc.status, tc.body), nil })
		_, err := highlevelapi.OK(c.GetContactWithResponse(context.Background(), "c1", nil))
		var e *highlevelapi.Error
		if !errors.As(err, &e) || e.StatusCode != tc.status {
			t.Fatalf("%d: err = %v, want an *Error", tc.status, err)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%d: %v is not %v", tc.status, err, tc.is)
		}
		if err.Error() != tc.msg {
			t.Errorf("%d: message %q, want %q", tc.status, err.Error(), tc.msg)
		}
	}
	c := client(t, func(*http.Request) (*http.Response, error) {
		return answer(404, `{"statusCode":404,"message":"Contact not found"}`), nil
	})
	if _, err := highlevelapi.OK(c.GetContactWithResponse(context.Background(), "x", nil)); !highlevelapi.IsNotFound(err) || highlevelapi.IsDuplicate(err) {
		t.Errorf("IsNotFound(%v) false or IsDuplicate true", err)
	}
}

func TestContactsPaging(t *testing.T) {
	// Three pages of two, then one; each page's meta carries both cursors,
	// and a request with only one of them would get page 1 again.
	ids := []string{"a", "b", "c", "d", "e"}
	var queries []string
	c := client(t, func(r *http.Request) (*http.Response, error) {
		q := r.URL.Query()
		queries = append(queries, q.Encode())
		start := 0
		if q.Get("startAfter") != "" && q.Get("startAfterId") != "" {
			for i, id := range ids {
				if id == q.Get("startAfterId") {
					start = i + 1
				}
			}
		}
		end := min(start+2, len(ids))
		var page []map[string]any
		for _, id := range ids[start:end] {
			page = append(page, map[string]any{"id": id, "locationId": "loc", "dateAdded": "2024-01-01T00:00:00.000Z"})
		}
		meta := map[string]any{"total": len(ids), "currentPage": 1, "startAfter": 1700000000123 + end, "startAfterId": ids[end-1]}
		body, _ := json.Marshal(map[string]any{"contacts": page, "count": len(ids), "meta": meta})
		return answer(200, string(body)), nil
	})
	limit := 2.0
	var got []string
	for contact, err := range c.Contacts(context.Background(), highlevelapi.GetContactsParams{LocationId: "loc", Limit: &limit}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, contact.Id)
	}
	if strings.Join(got, "") != "abcde" {
		t.Errorf("contacts %q, want abcde", got)
	}
	if len(queries) != 3 || !strings.Contains(queries[2], "startAfter=1700000000127") || !strings.Contains(queries[2], "startAfterId=d") {
		t.Errorf("queries %q", queries)
	}
}

func TestSearchPaging(t *testing.T) {
	// Pages of 4,000: pages 1 and 2 by number, the third past 10,000 by
	// searchAfter; 9,000 results in all.
	const total, size = 9000, 4000
	var asked []string
	c := client(t, func(r *http.Request) (*http.Response, error) {
		var body highlevelapi.SearchBodyV2DTO
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return nil, err
		}
		from := 0
		switch {
		case body.SearchAfter != nil:
			from = int((*body.SearchAfter)[0].(float64))
			asked = append(asked, "after")
		case body.Page != nil:
			from = (*body.Page - 1) * body.PageLimit
			asked = append(asked, "page")
		}
		var contacts []map[string]any
		for i := from; i < min(from+body.PageLimit, total); i++ {
			contacts = append(contacts, map[string]any{"id": "c", "locationId": "loc", "searchAfter": []any{i + 1}})
		}
		out, _ := json.Marshal(map[string]any{"contacts": contacts, "total": total})
		return answer(200, string(out)), nil
	})
	n := 0
	for _, err := range c.Search(context.Background(), highlevelapi.SearchBodyV2DTO{LocationId: "loc", PageLimit: size}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != total || strings.Join(asked, ",") != "page,page,after" {
		t.Errorf("%d contacts by %v, want %d by page,page,after", n, asked, total)
	}
}
