package journal_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/journal"
)

// secretSpellings are the names a secret goes by, in every spelling a
// client might use.
var secretSpellings = []string{
	"client_secret", "clientSecret", "ClientSecret", "client-secret", "access_token", "accessToken",
	"refresh_token", "refreshToken", "password", "Password", "apiKey", "api_key", "X-Api-Key",
	"token", "code", "webhookSecret",
}

// recorded records one request with header h and body, and returns the
// entry as the journal shows it.
func recorded(t testing.TB, h map[string][]string, query, body string) string {
	t.Helper()
	j := journal.New(1, clock.NewManual(epoch))
	j.Record(journal.Entry{Method: "POST", Path: "/x", Query: query, Status: 200, RequestHeaders: h, RequestBody: body,
		ResponseHeaders: h, ResponseBody: body})
	raw, err := json.Marshal(j.Entries(journal.Filter{}))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// shapes put a secret under key in a body of each shape, after pad.
var shapes = map[string]func(pad, key, value string) string{
	"json": func(pad, key, value string) string {
		b, _ := json.Marshal(map[string]string{"pad": pad, key: value})
		return string(b)
	},
	"form": func(pad, key, value string) string {
		return "pad=" + url.QueryEscape(pad) + "&" + url.QueryEscape(key) + "=" + url.QueryEscape(value)
	},
	"text": func(pad, key, value string) string {
		return strings.ReplaceAll(pad, "\n", " ") + " " + key + "=" + value
	},
}

var contentTypes = []string{"", "application/json", "application/x-www-form-urlencoded", "text/plain",
	"application/octet-stream", "multipart/form-data", "application/vnd.api+json"}

// TestJournal_SecretsWhateverTheirSpelling: a secret never reaches the
// journal, whatever its key's spelling, the body's shape, the content type
// declared (a form sent as JSON, JSON sent as text) or where the body cuts
// at MaxBody (a secret straddling it keeps none of its bytes).
func TestJournal_SecretsWhateverTheirSpelling(t *testing.T) {
	t.Parallel()
	for _, key := range secretSpellings {
		for shape, build := range shapes {
			for _, ct := range contentTypes {
				for _, pad := range []int{0, 100, journal.MaxBody - len(key) - 12, journal.MaxBody + 10} {
					body := build(strings.Repeat("p", pad), key, secret)
					got := recorded(t, map[string][]string{"Content-Type": {ct}}, "", body)
					if strings.Contains(got, secret[:4]) {
						t.Fatalf("key %s, %s body as %q, pad %d: the journal keeps the secret: %.300s", key, shape, ct, pad, got)
					}
				}
			}
		}
	}
}

// TestJournal_SecretHeadersAndURLPasswords: secret headers in any spelling
// and the passwords of URLs (a webhook URL's user info) are redacted in
// headers, queries and bodies.
func TestJournal_SecretHeadersAndURLPasswords(t *testing.T) {
	t.Parallel()
	h := map[string][]string{"X-Api-Key": {secret}, "Api-Key": {secret}, "X-Auth-Token": {secret},
		"Location": {"https://hook:" + secret + "@example.com/in"}, "Content-Type": {"application/json"}}
	got := recorded(t, h, "redirect=https%3A%2F%2Fu%3A"+secret+"%40h&next=https://u:"+secret+"@h/x",
		`{"url":"https://hook:`+secret+`@example.com/in?x=1","kept":"https://example.com:8080/a@b"}`)
	if strings.Contains(got, secret) {
		t.Fatalf("the journal keeps a secret: %s", got)
	}
	for _, kept := range []string{"https://hook:[redacted]@example.com/in", "https://example.com:8080/a@b"} {
		if !strings.Contains(got, kept) {
			t.Errorf("the journal does not show %s: %s", kept, got)
		}
	}
}

// FuzzRedaction: whatever the body around it and the content type, a secret
// put under a secret key never reaches the journal.
func FuzzRedaction(f *testing.F) {
	f.Add("", uint8(0), uint8(0), uint8(0))
	f.Add(`{"a":[1,{"b":"c"}]}`, uint8(1), uint8(1), uint8(1))
	f.Add("a=b&c=d", uint8(2), uint8(2), uint8(2))
	f.Add(`"\\"`, uint8(5), uint8(0), uint8(3))
	f.Add("name=\"x\"\r\n\r\n", uint8(9), uint8(2), uint8(5))
	shapeNames := []string{"json", "form", "text"}
	f.Fuzz(func(t *testing.T, pad string, keyIdx, shapeIdx, ctIdx uint8) {
		key := secretSpellings[int(keyIdx)%len(secretSpellings)]
		shape := shapeNames[int(shapeIdx)%len(shapeNames)]
		ct := contentTypes[int(ctIdx)%len(contentTypes)]
		if strings.Contains(pad, secret[:4]) {
			return // the secret in the padding is no secret
		}
		got := recorded(t, map[string][]string{"Content-Type": {ct}}, "", shapes[shape](pad, key, secret))
		if strings.Contains(got, secret[:4]) {
			t.Fatalf("key %s, %s body as %q: the journal keeps the secret: %.400s", key, shape, ct, got)
		}
	})
}
