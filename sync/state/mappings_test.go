package state_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/contactbridge/contactbridge/sync/state"
)

// hlIDs are the HighLevel ids of ms.
func hlIDs(ms []state.Mapping) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.HLID)
	}
	return out
}

// TestMappingsOfLaneAndKind: MappingsOfLane finds the mappings of a kind
// whose counterparts the lane's effects made (key prefix and HighLevel
// id), in that tenant, but those with the excepted hash; MappingsOfKind
// all of a kind and tenant that have a HighLevel id, but those.
func TestMappingsOfLaneAndKind(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	for _, e := range []state.Effect{
		{Key: "f6:m360-task:t1", Lane: "hl-contact:a"},
		{Key: "f6:m360-task:t2", Lane: "hl-contact:a"},
		{Key: "f6:m360-task:t3", Lane: "hl-contact:a"}, // its mapping is deleted
		{Key: "f6:m360-task:t4", Lane: "hl-contact:b"}, // another contact's
		{Key: "f4:m360-note:t5", Lane: "hl-contact:a"}, // another prefix
	} {
		e.Flow, e.Target, e.Tenant, e.Op, e.Request = "f", state.OriginM360, "loc", "create-task", []byte{}
		if _, err := db.PlanEffect(ctx, e, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []state.Mapping{
		{Kind: "task", Tenant: "loc", HLID: "t1", M360ID: "1"},
		{Kind: "task", Tenant: "loc", HLID: "t2", M360ID: "2"},
		{Kind: "task", Tenant: "loc", HLID: "t3", M360ID: "3", HLHash: "gone", M360Hash: "gone"},
		{Kind: "task", Tenant: "loc", HLID: "t4", M360ID: "4"},
		{Kind: "task", Tenant: "loc", HLID: "t5", M360ID: "5"},
		{Kind: "task", Tenant: "other", HLID: "t1", M360ID: "6"},
		{Kind: "task", Tenant: "loc", M360ID: "7"},
		{Kind: "note", Tenant: "loc", HLID: "t1", M360ID: "8"},
	} {
		m.Origin, m.UpdatedAt = state.OriginHighLevel, t0
		if _, err := db.CreateMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.MappingsOfLane(ctx, "task", "loc", "hl-contact:a", "f6:m360-task:", "gone")
	if err != nil || !slices.Equal(hlIDs(got), []string{"t1", "t2"}) {
		t.Fatalf("MappingsOfLane: %q, %v; want t1 and t2", hlIDs(got), err)
	}
	if got[0].M360ID != "1" || got[0].Tenant != "loc" {
		t.Errorf("MappingsOfLane's first: %+v", got[0])
	}
	got, err = db.MappingsOfKind(ctx, "task", "loc", "gone")
	if err != nil || !slices.Equal(hlIDs(got), []string{"t1", "t2", "t4", "t5"}) {
		t.Fatalf("MappingsOfKind: %q, %v; want t1, t2, t4, t5", hlIDs(got), err)
	}
}

// TestMappingsByHighLevel: the mappings of the records asked for, of
// their kind and tenant, keyed by record; none for a record unmapped, or
// mapped under another kind or tenant only.
func TestMappingsByHighLevel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := MustOpen(t)
	for _, m := range []state.Mapping{
		{Kind: "task", Tenant: "loc", HLID: "t1", M360ID: "1"},
		{Kind: "note", Tenant: "loc", HLID: "n1", M360ID: "2"},
		{Kind: "note", Tenant: "loc", HLID: "t2", M360ID: "3"}, // t2 is asked for as a task
		{Kind: "task", Tenant: "other", HLID: "t3", M360ID: "4"},
		{Kind: "task", Tenant: "loc", HLID: "t4", M360ID: "5"}, // not asked for
	} {
		m.Origin, m.UpdatedAt = state.OriginHighLevel, t0
		if _, err := db.CreateMapping(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.MappingsByHighLevel(ctx, "loc", []state.Record{{Kind: "task", ID: "t1"}, {Kind: "note", ID: "n1"},
		{Kind: "task", ID: "t2"}, {Kind: "task", ID: "t3"}, {Kind: "note", ID: "n9"}})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[state.Record]string{}
	for r, m := range got {
		ids[r] = m.M360ID
	}
	if want := map[state.Record]string{{Kind: "task", ID: "t1"}: "1", {Kind: "note", ID: "n1"}: "2"}; !maps.Equal(ids, want) {
		t.Errorf("MappingsByHighLevel: %v, want %v", ids, want)
	}
	if got, err := db.MappingsByHighLevel(ctx, "loc", nil); err != nil || len(got) != 0 {
		t.Errorf("MappingsByHighLevel of none: %v, %v", got, err)
	}
}
