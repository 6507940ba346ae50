package highlevel

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

func TestListBody_IsWhatEncodingJSONMakes(t *testing.T) {
	t.Parallel()
	born := time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC)
	contacts := []store.Contact{
		{ID: "c1", LocationID: "L1", FirstName: "Ada <&>", Email: "Ada@Example.com", Tags: []string{"a", "b"},
			DNDSettings: map[string]store.DNDSetting{"Email": {Status: "active"}}, DateOfBirth: &born,
			CustomFields: []store.CustomFieldValue{{ID: "f1", Value: "12.5"}}, Followers: []string{"u1"},
			DateAdded: time.UnixMilli(1709632800123).UTC(), DateUpdated: time.UnixMilli(1709632800999).UTC()},
		{ID: "c2", LocationID: "L1"},
	}
	meta := map[string]any{"total": 2, "currentPage": 1, "nextPage": nil, "prevPage": nil,
		"startAfter": int64(1709632800123), "startAfterId": "c2", "nextPageUrl": "http://twin.test/contacts/?a=1&b=<2>"}
	for _, n := range []int{0, 1, 2} {
		items := newListParts(n)
		views := []listedContactView{}
		for i := range contacts[:n] {
			var m store.Memo
			b, err := rendered(&m, memoListed, &contacts[i], viewListed)
			if err != nil {
				t.Fatal(err)
			}
			// The second rendering is the one kept.
			if again, _ := rendered(&m, memoListed, &store.Contact{ID: "other"}, viewListed); !bytes.Equal(again, b) {
				t.Errorf("rendered again = %s, want the kept %s", again, b)
			}
			items.add(b)
			views = append(views, viewListed(contacts[i]))
		}
		parts, err := items.body(2, meta)
		got := parts.AppendTo(nil)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(map[string]any{"contacts": views, "count": 2, "meta": meta})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d contacts:\n got %s\nwant %s", n, got, want)
		}
		if parts.Len() != len(want) {
			t.Errorf("%d contacts: Len %d, want %d", n, parts.Len(), len(want))
		}
		if enc, err := json.Marshal(parts); err != nil || !bytes.Equal(enc, want) {
			t.Errorf("%d contacts: encoded again = %s, %v", n, enc, err)
		}
	}
}

func TestContactBody_IsWhatEncodingJSONMakes(t *testing.T) {
	t.Parallel()
	c := store.Contact{ID: "c1", LocationID: "L1", FirstName: "Ada <&>", Email: "Ada@Example.com", Tags: []string{"a"},
		Followers: []string{"u1"}, DateAdded: time.UnixMilli(1709632800123).UTC()}
	var m store.Memo
	listed, err := rendered(&m, memoListed, &c, viewListed)
	if err != nil {
		t.Fatal(err)
	}
	one, err := rendered(&m, memoContact, &c, viewContact)
	if err != nil {
		t.Fatal(err)
	}
	// The two renderings keep to their slots.
	if bytes.Equal(one, listed) {
		t.Fatalf("the contact's rendering is its list item's: %s", one)
	}
	want, err := json.Marshal(map[string]any{"contact": viewContact(c)})
	if err != nil {
		t.Fatal(err)
	}
	if got := contactBody(one).AppendTo(nil); !bytes.Equal(got, want) {
		t.Errorf("contactBody:\n got %s\nwant %s", got, want)
	}
}

func TestListMeta_EncodesAsTheMapOfItsMembers(t *testing.T) {
	t.Parallel()
	after, id, link := int64(1709632800123), "c<2>", "http://twin.test/contacts/?a=1&b=<2>\u2028"
	for _, tc := range []struct {
		meta listMeta
		want map[string]any
	}{
		{listMeta{CurrentPage: 1, Total: 0},
			map[string]any{"total": 0, "currentPage": 1, "nextPage": nil, "prevPage": nil, "startAfter": nil, "startAfterId": nil, "nextPageUrl": nil}},
		{listMeta{CurrentPage: 2, Total: 7, PrevPage: new(1), NextPage: new(3), StartAfter: &after, StartAfterID: &id, NextPageURL: &link},
			map[string]any{"total": 7, "currentPage": 2, "nextPage": 3, "prevPage": 1, "startAfter": after, "startAfterId": id, "nextPageUrl": link}},
	} {
		got, err := json.Marshal(tc.meta)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

func TestListParts_ReleaseKeepsNoRendering(t *testing.T) {
	t.Parallel()
	l := newListParts(3)
	l.add([]byte(`{"id":"c1"}`))
	if _, err := l.body(1, listMeta{CurrentPage: 1, Total: 1}); err != nil {
		t.Fatal(err)
	}
	parts := l.parts[:cap(l.parts)]
	l.release()
	for i, p := range parts {
		if p != nil {
			t.Errorf("part %d of the released parts is %q, want nil", i, p)
		}
	}
}

// TestUpsertAnswer_IsWhatEncodingJSONMakes: an upsert's answer is byte for
// byte the map {"new", "contact", "traceId"} as encoding/json writes it.
func TestUpsertAnswer_IsWhatEncodingJSONMakes(t *testing.T) {
	t.Parallel()
	c := store.Contact{ID: "c1", LocationID: "L1", FirstName: "Ada <&>", Email: "Ada@Example.com", Tags: []string{"a"},
		DateAdded: time.UnixMilli(1709632800123).UTC()}
	for _, isNew := range []bool{true, false} {
		for _, trace := range []string{"0f3c", `a"b<c>\u2028`, ""} {
			res, err := contactAnswer(200, viewContact(c), upsertRest(isNew, trace))
			if err != nil {
				t.Fatal(err)
			}
			want, err := json.Marshal(map[string]any{"new": isNew, "contact": viewContact(c), "traceId": trace})
			if err != nil {
				t.Fatal(err)
			}
			if got := []byte(res.Body.(pipeline.RawJSON)); !bytes.Equal(got, want) {
				t.Errorf("new %v, trace %q:\n got %s\nwant %s", isNew, trace, got, want)
			}
		}
	}
}
