package highlevel

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// trickyText are pieces of strings that json.Marshal escapes or replaces,
// and some it writes as they are.
var trickyText = []string{"", "a", "Ada Lovelace", "<", ">", "&", `"`, `\`, "\n", "\t", "\x00", "\x1f", "\x7f",
	"é", "\u2028", "\u2029", "\xff", "🌵", "a@b.c", "+18832327657", "/", "'"}

func randomText(rng *rand.Rand) string {
	var b []byte
	for range rng.IntN(4) {
		b = append(b, trickyText[rng.IntN(len(trickyText))]...)
	}
	return string(b)
}

func randomContact(rng *rand.Rand) store.Contact {
	text := func() string { return randomText(rng) }
	c := store.Contact{
		ID: text(), LocationID: text(), FirstName: text(), LastName: text(), Name: text(), Email: text(),
		Phone: text(), Timezone: text(), CompanyName: text(), Type: text(), Source: text(), AssignedTo: text(),
		Address1: text(), City: text(), State: text(), Country: text(), PostalCode: text(), Website: text(),
		Gender: text(), BusinessID: text(), DND: rng.IntN(2) == 0,
		DateAdded:   time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)),
		DateUpdated: time.Unix(rng.Int64N(4e9), 0),
	}
	for range rng.IntN(3) {
		c.Tags = append(c.Tags, text())
	}
	if rng.IntN(3) == 0 {
		d := time.Date(1900+rng.IntN(200), time.Month(1+rng.IntN(12)), 1+rng.IntN(28), 0, 0, 0, 0, time.UTC)
		c.DateOfBirth = &d
	}
	if rng.IntN(3) == 0 {
		c.DNDSettings = map[string]store.DNDSetting{text(): {Status: text(), Message: text()}, "Email": {Status: "active"}}
	}
	if rng.IntN(4) == 0 {
		c.InboundDNDSettings = map[string]store.DNDSetting{"all": {Status: text(), Code: text()}}
	}
	switch rng.IntN(3) {
	case 0:
		c.CustomFields = []store.CustomFieldValue{{ID: text(), Value: text()}, {ID: "n", Value: "12.5", JSON: true}}
	case 1:
		c.CustomFields = []store.CustomFieldValue{}
	}
	return c
}

// TestAppendContactView_AsEncodingJSON: for contacts of every field's
// tricky values, as GET and create show them and as views with nothing set,
// appendContactView writes json.Marshal's bytes.
func TestAppendContactView_AsEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	views := []contactView{{}, {Tags: []string{}, CustomFields: []store.CustomFieldValue{}}}
	for range 3000 {
		c := randomContact(rng)
		views = append(views, viewContact(c), viewCreated(c))
	}
	for _, v := range views {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendContactView([]byte("prefix"), &v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("appendContactView\n%s\njson.Marshal\n%s", got, want)
		}
	}
}

func FuzzAppendContactView(f *testing.F) {
	f.Add("Ada", "<b>&", "é\u2028", int64(0), true)
	f.Fuzz(func(t *testing.T, a, b, c string, at int64, dnd bool) {
		v := viewContact(store.Contact{ID: a, LocationID: b, FirstName: c, Name: a + c, Email: b, Tags: []string{a, b, c},
			DND: dnd, DateAdded: time.Unix(at%1e11, 0), DNDSettings: map[string]store.DNDSetting{a: {Status: b}}})
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendContactView(nil, &v)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("appendContactView %s (%v), json.Marshal %s", got, err, want)
		}
	})
}
