package highlevel

import (
	"bytes"
	"net/http"
	"net/mail"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/contactbridge/contactbridge/mock/pipeline"
)

// validatorValue decodes body as the pipeline's validator does
// (pipeline.Request.Value).
func validatorValue(t testing.TB, body string) (any, bool) {
	t.Helper()
	decode := openapi3filter.RegisteredBodyDecoder("application/json")
	if decode == nil {
		t.Fatal("kin-openapi has no JSON body decoder")
	}
	v, err := decode(strings.NewReader(body), http.Header{}, nil, nil)
	return v, err == nil
}

// checkFromValue fails t when fromValue takes body but builds another input
// than Decode makes of the same text, and returns whether it took it.
func checkFromValue(t testing.TB, body string) bool {
	t.Helper()
	v, ok := validatorValue(t, body)
	if !ok {
		return false
	}
	var fromValue contactInput
	if !fromValue.fromValue(v) {
		return false
	}
	var decoded contactInput
	if err := (&pipeline.Request{Body: []byte(body)}).Decode(&decoded); err != nil {
		// Decode reads every copy of a repeated key, the validator only
		// the last: the input is the value validation checked.
		if !jsontext.Value(body).IsValid(jsontext.AllowDuplicateNames(false)) {
			return true
		}
		t.Fatalf("fromValue took %s, which Decode refuses: %v", body, err)
	}
	if !reflect.DeepEqual(fromValue, decoded) {
		t.Fatalf("%s:\nfromValue %+v\nDecode    %+v", body, fromValue, decoded)
	}
	return true
}

func TestContactInput_FromValueDecodesAsTheBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		take bool // fromValue builds it (else Decode does)
	}{
		{`{"locationId":"loc","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com","phone":"+18832327657","tags":["vip","2024"],"dnd":true,"createNewIfDuplicateAllowed":true}`, true},
		{`{"name":"Ada Lovelace","address1":"1 Way","city":"London","state":"LDN","postalCode":"N1","website":"https://x","timezone":"Europe/London","source":"api","country":"GB","assignedTo":"u1","businessId":"b1","companyName":"AE","gender":"female","dateOfBirth":"1815-12-10"}`, true},
		{`{"firstName":null,"email":null,"dnd":null,"tags":null,"locationId":null,"createNewIfDuplicateAllowed":null}`, true},
		{`{"tags":[]}`, true},
		{`{"firstName":"A\u00e9\"\\b","lastName":"\ud83d\ude00"}`, true},
		{`{"unknown":1,"other":{"FirstName":"x"}}`, true},
		{`{"firstName":"a","firstName":"b"}`, true},
		{`{}`, true},
		// Left to Decode.
		{`{"FirstName":"Ada"}`, false},
		{`{"firſtName":"Ada"}`, false},
		{`{"ſomething":"x"}`, false},
		{`{"customFields":[{"id":"f","field_value":"x"}]}`, false},
		{`{"dndSettings":{"Email":{"status":"active"}}}`, false},
		{`{"inboundDndSettings":null}`, false},
		{`{"firstName":1}`, false},
		{`{"dnd":"yes"}`, false},
		{`{"tags":["a",1]}`, false},
		{`{"tags":"a"}`, false},
		{`{"locationId":5}`, false},
		{`{"createNewIfDuplicateAllowed":"true"}`, false},
		{`[]`, false},
		{`"x"`, false},
	} {
		if got := checkFromValue(t, tc.body); got != tc.take {
			t.Errorf("%s: fromValue took it: %v, want %v", tc.body, got, tc.take)
		}
	}
}

// FuzzContactInputFromValue checks that whatever body fromValue builds an
// input from, Decode builds the same.
func FuzzContactInputFromValue(f *testing.F) {
	for _, seed := range []string{
		`{"locationId":"loc","firstName":"Ada","tags":["a"],"dnd":false}`,
		`{"email":null,"Email":"x"}`,
		`{"fırstName":"x","name":"y"}`,
		`{"tags":[null],"phone":"+1 555"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) {
			return
		}
		checkFromValue(t, string(body))
	})
}

// FuzzPlainAddress holds plainAddress to net/mail: an address it takes
// must be one validEmail's parser takes as it is.
func FuzzPlainAddress(f *testing.F) {
	for _, seed := range []string{"ada@example.com", "a.b+c@d-e.f", "a..b@c", ".a@b", "a@b.", "a@", "@b", "a b@c", "é@x.y", "a@b@c", "!#$%&'*+-/=?^_`{|}~@x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainAddress(s) {
			return
		}
		if a, err := mail.ParseAddress(s); err != nil || a.Name != "" || a.Address != s {
			t.Fatalf("plainAddress takes %q, net/mail: %v, %+v", s, err, a)
		}
	})
}

func TestPlainAddress(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"ada@example.com": true, "a.b+c@d-e.f": true, "x@y": true, "!#$%&'*+-/=?^_`{|}~@x": true,
		"a..b@c": false, ".a@b": false, "a.@b": false, "a@b.": false, "a@.b": false, "a@": false, "@b": false,
		"a b@c": false, "é@x.y": false, "a@b@c": false, `"a"@b`: false, "a@[1.2.3.4]": false, "": false,
	} {
		if got := plainAddress(s); got != want {
			t.Errorf("plainAddress(%q) = %v, want %v", s, got, want)
		}
		if want && !validEmail(s) {
			t.Errorf("validEmail(%q) = false", s)
		}
	}
}
