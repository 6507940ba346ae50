package store

import (
	"cmp"
	"slices"
	"strconv"
	"testing"
)

type row struct {
	key   string
	group string
	rank  int
}

func groupOf(r *row) string { return r.group }

// accountRow is a row of a table keyed and grouped by int64.
type accountRow struct {
	rank    int
	account int64
}

func keysIn(tb testing.TB, got []row) []string {
	tb.Helper()
	out := make([]string, 0, len(got))
	for _, r := range got {
		out = append(out, r.key)
	}
	return out
}

func TestTable_GroupsKeepSequenceOrder(t *testing.T) {
	t.Parallel()
	tbl := newTable[string](0, nil, groupOf)
	for _, r := range []row{{"c", "g1", 0}, {"a", "g2", 0}, {"b", "g1", 0}, {"d", "g1", 0}} {
		tbl.add(r.key, r.group, r)
	}
	if got := keysIn(t, tbl.list("g1")); !slices.Equal(got, []string{"c", "b", "d"}) {
		t.Errorf("g1 = %v, want the order added", got)
	}
	if got := tbl.keys(); !slices.Equal(got, []string{"c", "a", "b", "d"}) {
		t.Errorf("keys = %v, want the order added across groups", got)
	}
	// A record put with an earlier sequence number sits before later ones;
	// ties go by key; add then continues after the highest number.
	tbl.insert("e", "g1", 1, row{"e", "g1", 0})
	tbl.insert("0", "g1", 1, row{"0", "g1", 0})
	tbl.add("f", "g1", row{"f", "g1", 0})
	if got := keysIn(t, tbl.list("g1")); !slices.Equal(got, []string{"c", "0", "e", "b", "d", "f"}) {
		t.Errorf("g1 = %v", got)
	}
	if v, ok := tbl.in("g2", "a"); !ok || v.key != "a" {
		t.Errorf(`in("g2", "a") = %v, %v`, v, ok)
	}
	if _, ok := tbl.in("g1", "a"); ok {
		t.Error(`in("g1", "a") found another group's record`)
	}
}

func TestTable_OrderFunction(t *testing.T) {
	t.Parallel()
	tbl := newTable[string](0, func(a, b *row) int { return cmp.Compare(a.rank, b.rank) }, groupOf)
	for _, r := range []row{{"b", "g", 2}, {"z", "g", 1}, {"a", "g", 2}, {"m", "g", 3}} {
		tbl.add(r.key, r.group, r)
	}
	if got := keysIn(t, tbl.list("g")); !slices.Equal(got, []string{"z", "a", "b", "m"}) {
		t.Errorf("list = %v, want by rank then key", got)
	}
	tests := []struct {
		key       string
		rank      int
		wantAt    int
		wantFound bool
	}{
		{"a", 2, 1, true},
		{"c", 2, 3, false},
		{"", 0, 0, false},
		{"zz", 9, 4, false},
	}
	for _, tc := range tests {
		at, found := tbl.search("g", tc.key, 0, row{rank: tc.rank})
		if at != tc.wantAt || found != tc.wantFound {
			t.Errorf("search(%q, rank %d) = %d, %v; want %d, %v", tc.key, tc.rank, at, found, tc.wantAt, tc.wantFound)
		}
	}
}

func TestTable_Removal(t *testing.T) {
	t.Parallel()
	tbl := newTable[int64](M360FirstID, nil, func(r *accountRow) int64 { return r.account })
	for i, g := range []int64{1, 2, 1, 1, 2} {
		id := tbl.next
		tbl.insert(id, g, id, accountRow{rank: i, account: g})
	}
	tbl.remove(1002)
	tbl.remove(9999) // not there: nothing happens
	if got := tbl.keysOf(2); !slices.Equal(got, []int64{1005}) {
		t.Errorf("group 2 = %v after removing 1002", got)
	}
	tbl.removeWhere(1, func(r accountRow) bool { return r.rank == 2 })
	if got := tbl.keysOf(1); !slices.Equal(got, []int64{1001, 1004}) {
		t.Errorf("group 1 = %v after removing rank 2", got)
	}
	tbl.removeGroup(1)
	if _, _, ok := tbl.get(1001); ok || tbl.size() != 1 || len(tbl.groups) != 1 {
		t.Errorf("after removing group 1: size %d, groups %v", tbl.size(), tbl.groups)
	}
	tbl.removeWhere(2, func(accountRow) bool { return true })
	if tbl.size() != 0 || len(tbl.groups) != 0 {
		t.Errorf("emptied table holds %d records in %d groups", tbl.size(), len(tbl.groups))
	}
}

// A table's entries share slabs, which stay allocated while one of their
// entries is stored: a removed entry must keep nothing of its record (its
// strings and lists), whichever way it goes.
func TestTable_RemovedEntriesKeepNothing(t *testing.T) {
	t.Parallel()
	tbl := newTable[string](0, nil, groupOf)
	for _, r := range []row{{"a", "g1", 1}, {"b", "g1", 2}, {"c", "g2", 3}, {"d", "g3", 4}, {"e", "g3", 5}} {
		tbl.add(r.key, r.group, r)
	}
	entries := map[string]*entry[string, row]{}
	for k, e := range tbl.rows {
		entries[k] = e
	}
	tbl.remove("a")
	tbl.removeGroup("g2")
	tbl.removeWhere("g3", func(r row) bool { return r.rank == 5 })
	for k, e := range entries {
		kept := k == "b" || k == "d"
		if zero := *e == (entry[string, row]{}); zero == kept {
			t.Errorf("entry %q = %+v after the removals (kept: %v)", k, *e, kept)
		}
	}
	if got := tbl.keys(); !slices.Equal(got, []string{"b", "d"}) {
		t.Errorf("keys = %v, want [b d]", got)
	}
	// The next records take the removed entries, before the slab's.
	removed := map[*entry[string, row]]bool{entries["a"]: true, entries["c"]: true, entries["e"]: true}
	for _, k := range []string{"f", "g", "h"} {
		tbl.add(k, "g1", row{k, "g1", 0})
		if e := tbl.rows[k]; !removed[e] {
			t.Errorf("record %q is in a new entry, with removed ones free", k)
		}
		delete(removed, tbl.rows[k])
	}
}

// A slab fully taken is let go: the table's empty slice of it would keep
// every entry of it allocated after their records are removed.
func TestTable_LetsGoOfASlabTaken(t *testing.T) {
	t.Parallel()
	tbl := newTable[string](0, nil, groupOf)
	for i := range slabEntries {
		k := strconv.Itoa(i)
		tbl.add(k, "g", row{k, "g", i})
		if full := i == slabEntries-1; (tbl.slab == nil) != full {
			t.Fatalf("after %d records, the slab is %d entries long", i+1, len(tbl.slab))
		}
	}
}
