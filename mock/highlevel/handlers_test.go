package highlevel

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
	"github.com/contactbridge/contactbridge/mock/store"
)

// request is a request of the principal of location L1 to a handler.
func request(query url.Values, path map[string]string, body string) *pipeline.Request {
	return &pipeline.Request{
		HTTP:      httptest.NewRequest(http.MethodGet, "http://twin.test/contacts/", nil),
		Path:      path,
		Query:     query,
		Body:      []byte(body),
		Principal: &auth.Principal{LocationID: "L1"},
	}
}

func serve(t *testing.T, fake *FakeStore, op string, r *pipeline.Request) (pipeline.Response, error) {
	t.Helper()
	api := &API{Store: fake, TraceID: func() string { return "trace-1" }, BaseURL: func() string { return "http://twin.test" }}
	return api.Handlers()[op](r)
}

func inL1(id string) (store.Location, error) {
	if id != "L1" {
		return store.Location{}, &store.NotFoundError{Kind: "Location", ID: id}
	}
	return store.Location{ID: "L1"}, nil
}

func TestListContacts_CursorNeedsBothHalves(t *testing.T) {
	t.Parallel()
	added := time.Date(2024, 3, 5, 10, 0, 0, 123e6, time.UTC)
	tests := []struct {
		name       string
		query      url.Values
		wantCursor *store.Cursor
		wantLimit  int
	}{
		{"no cursor, default limit", url.Values{}, nil, 20},
		{"both halves", url.Values{"startAfter": {"1709632800123"}, "startAfterId": {"c9"}, "limit": {"5"}},
			&store.Cursor{DateAdded: added, ID: "c9"}, 5},
		{"startAfter alone is ignored", url.Values{"startAfter": {"1709632800123"}}, nil, 20},
		{"startAfterId alone is ignored", url.Values{"startAfterId": {"c9"}}, nil, 20},
		{"a fractional limit is floored", url.Values{"limit": {"7.9"}}, nil, 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var gotCursor *store.Cursor
			gotLimit := -1
			fake := &FakeStore{LocationFn: inL1,
				ContactsPageFn: func(location string, after *store.Cursor, limit int, match func(*store.Contact) bool) store.Page {
					gotCursor, gotLimit = after, limit
					return store.Page{}
				}}
			tc.query.Set("locationId", "L1")
			if _, err := serve(t, fake, "get-contacts", request(tc.query, nil, "")); err != nil {
				t.Fatal(err)
			}
			if gotLimit != tc.wantLimit {
				t.Errorf("limit = %d, want %d", gotLimit, tc.wantLimit)
			}
			switch {
			case tc.wantCursor == nil && gotCursor != nil:
				t.Errorf("cursor = %+v, want none", *gotCursor)
			case tc.wantCursor != nil && (gotCursor == nil || !gotCursor.DateAdded.Equal(tc.wantCursor.DateAdded) || gotCursor.ID != tc.wantCursor.ID):
				t.Errorf("cursor = %+v, want %+v", gotCursor, *tc.wantCursor)
			}
		})
	}
}

func TestListContacts_MetaNamesTheNextPage(t *testing.T) {
	t.Parallel()
	last := store.Contact{ID: "c2", LocationID: "L1", DateAdded: time.UnixMilli(1709632800123).UTC()}
	fake := &FakeStore{LocationFn: inL1,
		ContactsPageFn: func(string, *store.Cursor, int, func(*store.Contact) bool) store.Page {
			return store.Page{Contacts: []store.Contact{{ID: "c3", LocationID: "L1"}, last}, Total: 7, Offset: 2, More: true}
		}}
	resp, err := serve(t, fake, "get-contacts", request(url.Values{"locationId": {"L1"}, "limit": {"2"}, "query": {"ja"}}, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	meta := pipelinetest.Body(t, resp)["meta"].(map[string]any)
	want := map[string]any{"total": 7.0, "currentPage": 2.0, "prevPage": 1.0, "nextPage": 3.0,
		"startAfter": 1709632800123.0, "startAfterId": "c2",
		"nextPageUrl": "http://twin.test/contacts/?limit=2&locationId=L1&query=ja&startAfter=1709632800123&startAfterId=c2"}
	for k, v := range want {
		if meta[k] != v {
			t.Errorf("meta.%s = %v, want %v", k, meta[k], v)
		}
	}
}

func TestListContacts_NextPageURLIsTheEncodedCursor(t *testing.T) {
	t.Parallel()
	last := store.Contact{ID: "c 2/&?", LocationID: "L1", DateAdded: time.UnixMilli(1709632800123).UTC()}
	fake := &FakeStore{LocationFn: inL1,
		ContactsPageFn: func(string, *store.Cursor, int, func(*store.Contact) bool) store.Page {
			return store.Page{Contacts: []store.Contact{last}, Total: 7, More: true}
		}}
	for _, query := range []string{"", "ja né&x=1+2"} {
		q := url.Values{"locationId": {"L1"}, "limit": {"1"}}
		if query != "" {
			q.Set("query", query)
		}
		resp, err := serve(t, fake, "get-contacts", request(q, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		next := url.Values{"locationId": {"L1"}, "limit": {"1"}, "startAfter": {"1709632800123"}, "startAfterId": {last.ID}}
		if query != "" {
			next.Set("query", query)
		}
		meta := pipelinetest.Body(t, resp)["meta"].(map[string]any)
		if want := "http://twin.test/contacts/?" + next.Encode(); meta["nextPageUrl"] != want {
			t.Errorf("query %q: nextPageUrl = %v, want %s", query, meta["nextPageUrl"], want)
		}
	}
}

func TestContactRoutes_AnotherLocationsContactIsForbidden(t *testing.T) {
	t.Parallel()
	// Only the read is set: a write on the fake would panic.
	fake := &FakeStore{ContactFn: func(id string) (store.Contact, error) {
		return store.Contact{ID: id, LocationID: "L2"}, nil
	}}
	for _, tc := range []struct{ op, body string }{
		{"get-contact", ""},
		{"update-contact", `{"firstName":"x"}`},
		{"delete-contact", ""},
		{"add-tags", `{"tags":["a"]}`},
		{"remove-tags", `{"tags":["a"]}`},
	} {
		_, err := serve(t, fake, tc.op, request(nil, map[string]string{"contactId": "c1"}, tc.body))
		if !errors.Is(err, auth.ErrLocation) {
			t.Errorf("%s: err = %v, want auth.ErrLocation", tc.op, err)
		}
	}
}

func TestDeleteContact_AnswersTheVendorsSpelling(t *testing.T) {
	t.Parallel()
	var deletedID string
	fake := &FakeStore{
		ContactFn:       func(id string) (store.Contact, error) { return store.Contact{ID: id, LocationID: "L1"}, nil },
		DeleteContactFn: func(id string) error { deletedID = id; return nil },
	}
	resp, err := serve(t, fake, "delete-contact", request(nil, map[string]string{"contactId": "c1"}, ""))
	if err != nil {
		t.Fatal(err)
	}
	if deletedID != "c1" || resp.Status != http.StatusOK || pipelinetest.Body(t, resp)["succeded"] != true {
		t.Errorf("deleted %q, answered %d %v", deletedID, resp.Status, resp.Body)
	}
}

func TestUpsertContact_MatchesOnNormalizedEmailAndPhone(t *testing.T) {
	t.Parallel()
	var gotEmail, gotPhone string
	var gotNew bool
	fake := &FakeStore{LocationFn: inL1,
		UpsertContactFn: func(location, email, phone string, createNew bool, fn func(*store.Contact) error) (store.Contact, bool, error) {
			gotEmail, gotPhone, gotNew = email, phone, createNew
			c := store.Contact{ID: "c1", LocationID: location}
			return c, false, fn(&c)
		}}
	body := `{"locationId":"L1","email":"  Jane@Example.com ","phone":"(555) 010-2030","createNewIfDuplicateAllowed":true}`
	resp, err := serve(t, fake, "upsert-contact", request(nil, nil, body))
	if err != nil {
		t.Fatal(err)
	}
	if gotEmail != "Jane@Example.com" || gotPhone != "+15550102030" || !gotNew {
		t.Errorf("upsert matched on %q, %q, createNew %v", gotEmail, gotPhone, gotNew)
	}
	if b := pipelinetest.Body(t, resp); b["new"] != false || b["traceId"] != "trace-1" {
		t.Errorf("body %v", b)
	}
}

func TestContactsByBusiness_SkipsAndLimitsMatches(t *testing.T) {
	t.Parallel()
	contacts := []store.Contact{
		{ID: "a", BusinessID: "b1"}, {ID: "x", BusinessID: "b2"}, {ID: "b", BusinessID: "b1"},
		{ID: "c", BusinessID: "b1"}, {ID: "d", BusinessID: "b1"},
	}
	fake := &FakeStore{LocationFn: inL1,
		ScanContactsFn: func(location string, fn func(*store.Contact) bool) {
			for i := range contacts {
				if !fn(&contacts[i]) {
					return
				}
			}
		}}
	r := request(url.Values{"locationId": {"L1"}, "skip": {"1"}, "limit": {"2"}}, map[string]string{"businessId": "b1"}, "")
	resp, err := serve(t, fake, "get-contacts-by-businessId", r)
	if err != nil {
		t.Fatal(err)
	}
	b := pipelinetest.Body(t, resp)
	var ids []string
	for _, c := range b["contacts"].([]any) {
		ids = append(ids, c.(map[string]any)["id"].(string))
	}
	if strings.Join(ids, ",") != "b,c" || b["count"] != 4.0 {
		t.Errorf("contacts %v, count %v; want b,c of 4", ids, b["count"])
	}
}

func TestTaskInput_RefusesABadDueDate(t *testing.T) {
	t.Parallel()
	in := taskInput{DueDate: opt{Set: true, V: "tomorrow"}}
	var task store.Task
	err := in.apply(&task)
	var e *pipeline.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || e.Messages[0] != "dueDate must be a valid ISO 8601 date string" {
		t.Fatalf("apply = %v, want the vendor's 422", err)
	}
	in = taskInput{DueDate: opt{Set: true, V: "2024-03-05T10:00:00+02:00"}}
	if err := in.apply(&task); err != nil || !task.DueDate.Equal(time.Date(2024, 3, 5, 8, 0, 0, 0, time.UTC)) || task.DueDate.Location() != time.UTC {
		t.Errorf("apply = %v, due %v; want 08:00 UTC", err, task.DueDate)
	}
}

// TestSetCustomField_WhatTheSpecAlsoRefuses: the handler refuses on its
// own what the spec's validation refuses before it (an array of non-strings,
// a value that is no JSON), so a body that reaches it unchecked is refused
// the same; a good value is kept in its type, replacing the old in place.
func TestSetCustomField_WhatTheSpecAlsoRefuses(t *testing.T) {
	t.Parallel()
	loc := store.Location{ID: "L1", CustomFields: []store.CustomFieldDef{{ID: "F1", Key: "contact.a"}, {ID: "F2", Key: "contact.b"}}}
	c := store.Contact{CustomFields: []store.CustomFieldValue{{ID: "F1", Value: "x"}, {ID: "F2", Value: "y"}}}
	for raw, want := range map[string]string{`[1,2]`: "an array value must hold strings", `{"a":`: "field_value is not a JSON value"} {
		if got := setCustomField(&c, loc, customFieldInput{ID: "F1", FieldValue: []byte(raw)}); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
	if got := setCustomField(&c, loc, customFieldInput{Key: "contact.a", FieldValue: []byte(` [ "p" , "q" ] `)}); got != "" {
		t.Fatal(got)
	}
	want := []store.CustomFieldValue{{ID: "F1", Value: `["p","q"]`, JSON: true}, {ID: "F2", Value: "y"}}
	if !slices.Equal(c.CustomFields, want) {
		t.Errorf("fields %+v, want %+v", c.CustomFields, want)
	}
}

// TestOpt_DecodesAsEncodingJSON: opt's value is what encoding/json makes of
// the JSON, escapes and invalid UTF-8 included, and a value that is not a
// string is refused as encoding/json refuses it.
func TestOpt_DecodesAsEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"Ada"`, `""`, `"  padded "`, `"caf\u00e9"`, `"café"`, `"a\"b"`, `"a\\b"`, `"\n"`,
		`"tab\tx"`, "\"\xff\xfe\"", "\"ok\xc3\"", `"日本"`, `"\ud83d\ude00"`, `5`, `true`, `["a"]`, `{"a":1}`} {
		var got struct {
			F opt `json:"f"`
		}
		var want struct {
			F *string `json:"f"`
		}
		doc := []byte(`{"f":` + in + `}`)
		gotErr, wantErr := json.Unmarshal(doc, &got), json.Unmarshal(doc, &want)
		if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Errorf("%s: error %v, want %v", in, gotErr, wantErr)
			continue
		}
		if gotErr == nil && (!got.F.Set || got.F.Null || got.F.V != *want.F) {
			t.Errorf("%s: %+v, want %q", in, got.F, *want.F)
		}
	}
}
