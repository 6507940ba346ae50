package m360

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"

	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/pipeline/pipelinetest"
	"github.com/contactbridge/contactbridge/mock/store"
)

// keyOf is the principal of an API key of account (its LocationID).
func keyOf(account string) *auth.Principal { return &auth.Principal{LocationID: account} }

func call(t *testing.T, fake *FakeStore, op string, principal *auth.Principal, path map[string]string, query url.Values, body string) (pipeline.Response, error) {
	t.Helper()
	r := &pipeline.Request{HTTP: httptest.NewRequest(http.MethodGet, "http://twin.test/v1/", nil),
		Path: path, Query: query, Body: []byte(body), Principal: principal}
	return (&API{Store: fake}).Handlers()[op](r)
}

func TestHandlers_TheKeysAccountAndPathIDs(t *testing.T) {
	t.Parallel()
	var gotAccount, gotID int64
	fake := &FakeStore{M360ContactFn: func(account, id int64) (store.M360Contact, error) {
		gotAccount, gotID = account, id
		return store.M360Contact{ID: id, AccountID: account}, nil
	}}
	tests := []struct {
		name       string
		principal  *auth.Principal
		contactID  string
		wantStatus int    // of a *pipeline.Error; 0 for none
		wantKind   string // of a *store.NotFoundError
	}{
		{"the key's account", keyOf("1001"), "7", 0, ""},
		{"no key", nil, "7", http.StatusUnauthorized, ""},
		{"an account id that is not a number", keyOf("acct"), "7", 0, "Account"},
		{"zero names no contact", keyOf("1001"), "0", 0, "Contact"},
		{"negative names no contact", keyOf("1001"), "-3", 0, "Contact"},
		{"letters name no contact", keyOf("1001"), "x7", 0, "Contact"},
	}
	for _, tc := range tests {
		gotAccount, gotID = 0, 0
		_, err := call(t, fake, "m360-get-contact", tc.principal, map[string]string{"contactId": tc.contactID}, nil, "")
		var apiErr *pipeline.Error
		var notFound *store.NotFoundError
		switch {
		case tc.wantStatus != 0:
			if !errors.As(err, &apiErr) || apiErr.Status != tc.wantStatus {
				t.Errorf("%s: err = %v, want status %d", tc.name, err, tc.wantStatus)
			}
		case tc.wantKind != "":
			if !errors.As(err, &notFound) || notFound.Kind != tc.wantKind {
				t.Errorf("%s: err = %v, want a missing %s", tc.name, err, tc.wantKind)
			}
		case err != nil || gotAccount != 1001 || gotID != 7:
			t.Errorf("%s: err = %v, store asked for contact %d of %d", tc.name, err, gotID, gotAccount)
		}
		if (tc.wantStatus != 0 || tc.wantKind != "") && gotID != 0 {
			t.Errorf("%s: the store was asked", tc.name)
		}
	}
}

func TestListTasks_ReadsFilterAndPaging(t *testing.T) {
	t.Parallel()
	var got store.M360TaskFilter
	fake := &FakeStore{M360TasksFn: func(account int64, f store.M360TaskFilter) ([]store.M360Task, int, error) {
		got = f
		return []store.M360Task{{ID: 1, ContactID: 2, Title: "t"}}, 11, nil
	}}
	q := url.Values{"updatedSince": {"1700000000"}, "completed": {"false"}, "page": {"2"}, "pageSize": {"10"}}
	resp, err := call(t, fake, "m360-list-tasks", keyOf("1001"), nil, q, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Page != 2 || got.PageSize != 10 || got.UpdatedSince == nil || *got.UpdatedSince != 1700000000 ||
		got.Completed == nil || *got.Completed || got.ContactID != 0 {
		t.Errorf("filter = %+v", got)
	}
	b := pipelinetest.Body(t, resp)
	if b["page"] != 2.0 || b["pageSize"] != 10.0 || b["total"] != 11.0 || len(b["result"].([]any)) != 1 {
		t.Errorf("envelope = %v", b)
	}
}

func TestListTasks_RefusesBadParametersTogether(t *testing.T) {
	t.Parallel()
	q := url.Values{"completed": {"maybe"}, "pageSize": {"101"}, "page": {"0"}}
	_, err := call(t, &FakeStore{}, "m360-list-tasks", keyOf("1001"), nil, q, "")
	var e *pipeline.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity {
		t.Fatalf("err = %v, want a 422", err)
	}
	for _, field := range []string{"completed", "pageSize", "page"} {
		if e.Meta[field] == nil {
			t.Errorf("fields %v lack %s", e.Meta, field)
		}
	}
}

func TestListContacts_DefaultPaging(t *testing.T) {
	t.Parallel()
	var got store.M360ContactFilter
	fake := &FakeStore{M360ContactsFn: func(account int64, f store.M360ContactFilter) ([]store.M360Contact, int, error) {
		got = f
		return nil, 0, nil
	}}
	q := url.Values{"email": {"jane@example.com"}, "externalId": {"ghl-1"}}
	if _, err := call(t, fake, "m360-list-contacts", keyOf("1001"), nil, q, ""); err != nil {
		t.Fatal(err)
	}
	want := store.M360ContactFilter{M360Paging: store.M360Paging{Page: 1, PageSize: DefaultPageSize},
		Email: "jane@example.com", M360Changes: store.M360Changes{ExternalID: "ghl-1"}}
	if got != want {
		t.Errorf("filter = %+v, want %+v", got, want)
	}
}

// TestUpdateContact_Partial: the contact PUT writes what the body names
// (null and "" clear, a list sent replaces the list) and keeps the rest, as
// the other PUTs of the API do.
func TestUpdateContact_Partial(t *testing.T) {
	t.Parallel()
	var written store.M360Contact
	fake := &FakeStore{UpdateM360ContactFn: func(account, id int64, fn func(*store.M360Contact) error) (store.M360Contact, error) {
		written = store.M360Contact{ID: 7, AccountID: 1001, FirstName: "Jane", LastName: "Doe", Phone: "+13035550100",
			Company: "Acme", Tags: []string{"vip", "east"}, CustomFields: map[string]string{"a": "1", "b": "2"}}
		err := fn(&written)
		return written, err
	}}
	if _, err := call(t, fake, "m360-replace-contact", keyOf("1001"), map[string]string{"contactId": "7"}, nil,
		`{"firstName":"Janet","lastName":null,"phone":"","tags":["west"],"customFields":{"c":"3"}}`); err != nil {
		t.Fatal(err)
	}
	want := store.M360Contact{ID: 7, AccountID: 1001, FirstName: "Janet", Company: "Acme", Tags: []string{"west"},
		CustomFields: map[string]string{"c": "3"}}
	if !reflect.DeepEqual(written, want) {
		t.Errorf("written %+v\nwant    %+v", written, want)
	}
	// A refused update writes nothing: the store sees fn's error.
	if _, err := call(t, fake, "m360-replace-contact", keyOf("1001"), map[string]string{"contactId": "7"}, nil,
		`{"email":"nope"}`); err == nil {
		t.Fatal("a bad email was accepted")
	}
}
