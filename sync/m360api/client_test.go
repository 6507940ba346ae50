package m360api_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/sync/m360api"
)

type doer struct {
	do func(*http.Request) (*http.Response, error)
}

func (d doer) Do(r *http.Request) (*http.Response, error) { return d.do(r) }

func client(t *testing.T, do func(*http.Request) (*http.Response, error)) *m360api.ClientWithResponses {
	t.Helper()
	c, err := m360api.New("http://m360.test", doer{do})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func answer(status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body))}
}

func TestErrors(t *testing.T) {
	c := client(t, func(*http.Request) (*http.Response, error) {
		return answer(422, `{"error":{"code":"validation_error","message":"invalid contact","fields":{"email":"must be a valid email address","phone":"too long"}}}`), nil
	})
	_, err := m360api.OK(c.M360GetContactWithResponse(context.Background(), 7))
	var e *m360api.Error
	if !errors.As(err, &e) || e.StatusCode != 422 || !errors.Is(err, m360api.ErrValidation) || m360api.IsNotFound(err) {
		t.Fatalf("err = %#v", err)
	}
	if want := "m360api: 422 validation_error: invalid contact; email must be a valid email address; phone too long"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	c = client(t, func(*http.Request) (*http.Response, error) {
		return answer(404, `{"error":{"code":"not_found","message":"contact 7 not found"}}`), nil
	})
	if _, err := m360api.OK(c.M360GetContactWithResponse(context.Background(), 7)); !m360api.IsNotFound(err) {
		t.Errorf("IsNotFound(%v) = false", err)
	}
}

func TestContactsPaging(t *testing.T) {
	const total = 7
	var pages []string
	c := client(t, func(r *http.Request) (*http.Response, error) {
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		size, _ := strconv.Atoi(r.URL.Query().Get("pageSize"))
		pages = append(pages, r.URL.Query().Get("page"))
		var result []map[string]any
		for id := (page-1)*size + 1; id <= min(page*size, total); id++ {
			result = append(result, map[string]any{"id": id, "created": 1, "updated": 1})
		}
		out, _ := json.Marshal(map[string]any{"result": result, "page": page, "pageSize": size, "total": total})
		return answer(200, string(out)), nil
	})
	size := 3
	var ids []int
	for contact, err := range c.Contacts(context.Background(), m360api.M360ListContactsParams{PageSize: &size}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, int(contact.Id))
	}
	if len(ids) != total || ids[6] != 7 || strings.Join(pages, ",") != "1,2,3" {
		t.Errorf("ids %v over pages %v", ids, pages)
	}
	// An error ends the iteration after it is yielded.
	n := 0
	for _, err := range m360api.Pages(2, func(page, _ int) ([]int, int, error) {
		if page == 2 {
			return nil, 0, errors.New("boom")
		}
		return []int{1, 2}, 10, nil
	}) {
		n++
		if n == 3 && err == nil {
			t.Error("third value has no error")
		}
	}
	if n != 3 {
		t.Errorf("%d values, want 3", n)
	}
}
