package highlevel_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/highlevel"
	"github.com/contactbridge/contactbridge/mock/store"
)

var hookAt = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func types(evs []highlevel.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// body decodes an event's body as delivered to one app.
func body(t *testing.T, ev highlevel.Event) map[string]any {
	t.Helper()
	raw, err := ev.Body(highlevel.Recipient{AppID: "app1", VersionID: "app1", CompanyID: "co1"}, "wh-1", hookAt)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEvents_EnvelopeCarriesVersionAndCompany(t *testing.T) {
	t.Parallel()
	c := store.Contact{ID: "c1", LocationID: "L1"}
	evs := highlevel.Events(store.Change{Op: store.Created, Location: "L1", After: c, At: hookAt}, highlevel.EventOptions{})
	b := body(t, evs[0])
	for k, want := range map[string]string{"type": "ContactCreate", "locationId": "L1", "appId": "app1", "versionId": "app1",
		"companyId": "co1", "webhookId": "wh-1", "timestamp": "2026-03-01T12:00:00.000Z"} {
		if b[k] != want {
			t.Errorf("%s = %v, want %s", k, b[k], want)
		}
	}
	if _, ok := b["dndSettings"]; ok {
		t.Errorf("a ContactCreate without DND carries dndSettings: %v", b)
	}
}

func TestEvents_TagChangeSendsContactUpdateUnderItsToggle(t *testing.T) {
	t.Parallel()
	before := store.Contact{ID: "c1", LocationID: "L1", Tags: []string{"a"}}
	after := before
	after.Tags = []string{"a", "b"}
	ch := store.Change{Op: store.Updated, Location: "L1", Before: before, After: after, At: hookAt}
	if got := types(highlevel.Events(ch, highlevel.EventOptions{})); !slices.Equal(got, []string{"ContactTagUpdate"}) {
		t.Errorf("a tag change without the toggle: %v", got)
	}
	got := types(highlevel.Events(ch, highlevel.EventOptions{UpdateOnTagChange: true}))
	if !slices.Equal(got, []string{"ContactUpdate", "ContactTagUpdate"}) {
		t.Errorf("a tag change with updateOnTagChange: %v", got)
	}
}

func TestEvents_DNDEventsCarryEveryChannel(t *testing.T) {
	t.Parallel()
	before := store.Contact{ID: "c1", LocationID: "L1"}
	after := before
	after.DNDSettings = map[string]store.DNDSetting{"SMS": {Status: "active", Message: "asked"}}
	evs := highlevel.Events(store.Change{Op: store.Updated, Location: "L1", Before: before, After: after, At: hookAt}, highlevel.EventOptions{})
	if got := types(evs); !slices.Equal(got, []string{"ContactDndUpdate"}) {
		t.Fatalf("a DND change: %v", got)
	}
	dnd := body(t, evs[0])["dndSettings"].(map[string]any)
	if len(dnd) != 6 || dnd["SMS"].(map[string]any)["message"] != "asked" || dnd["Email"].(map[string]any)["status"] != "inactive" {
		t.Errorf("dndSettings %v, want all six channels, SMS as set", dnd)
	}

	created := store.Contact{ID: "c2", LocationID: "L1", DND: true}
	evs = highlevel.Events(store.Change{Op: store.Created, Location: "L1", After: created, At: hookAt}, highlevel.EventOptions{})
	b := body(t, evs[0])
	dnd, _ = b["dndSettings"].(map[string]any)
	if b["type"] != "ContactCreate" || b["dnd"] != true || len(dnd) != 6 || dnd["Call"].(map[string]any)["status"] != "active" {
		t.Errorf("a ContactCreate with DND set: %v", b)
	}
}
