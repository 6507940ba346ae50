package highlevel

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// maxSearchWindow is how deep page numbers reach; past it, searchAfter.
const maxSearchWindow = 10000

type searchFilter struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

type searchSort struct {
	Field     string `json:"field"`
	Direction string `json:"direction"`
}

type searchInput struct {
	LocationID  string         `json:"locationId"`
	Page        int            `json:"page"`
	PageLimit   int            `json:"pageLimit"`
	SearchAfter []any          `json:"searchAfter"`
	Query       string         `json:"query"`
	Filters     []searchFilter `json:"filters"`
	Sort        []searchSort   `json:"sort"`
}

// fieldValue reads a searchable field: a string, a bool, a time or a list.
func fieldValue(c *store.Contact, field string) any {
	switch field {
	case "id":
		return c.ID
	case "firstName":
		return c.FirstName
	case "lastName":
		return c.LastName
	case "email":
		return c.Email
	case "phone":
		return c.Phone
	case "companyName":
		return c.CompanyName
	case "businessId":
		return c.BusinessID
	case "tags":
		return c.Tags
	case "type":
		return c.Type
	case "source":
		return c.Source
	case "assignedTo":
		return c.AssignedTo
	case "city":
		return c.City
	case "state":
		return c.State
	case "country":
		return c.Country
	case "postalCode":
		return c.PostalCode
	case "dnd":
		return c.DND
	case "dateAdded":
		return c.DateAdded
	case "dateUpdated":
		return c.DateUpdated
	}
	return nil
}

// compile turns a filter into a predicate, or says why it cannot.
func (f searchFilter) compile() (func(*store.Contact) bool, error) {
	positive := func(op string) func(*store.Contact) bool {
		switch op {
		case "eq":
			return func(c *store.Contact) bool { return equals(fieldValue(c, f.Field), f.Value) }
		case "contains":
			return func(c *store.Contact) bool { return contains(fieldValue(c, f.Field), f.Value) }
		case "exists":
			return func(c *store.Contact) bool { return present(fieldValue(c, f.Field)) }
		}
		return nil
	}
	switch f.Operator {
	case "eq", "contains", "exists":
		if f.Operator != "exists" && f.Value == nil {
			return nil, fmt.Errorf("filters: %s %s needs a value", f.Field, f.Operator)
		}
		return positive(f.Operator), nil
	case "not_eq", "not_contains", "not_exists":
		base, err := searchFilter{Field: f.Field, Operator: strings.TrimPrefix(f.Operator, "not_"), Value: f.Value}.compile()
		if err != nil {
			return nil, err
		}
		return func(c *store.Contact) bool { return !base(c) }, nil
	case "range":
		bounds, ok := f.Value.(map[string]any)
		if !ok || len(bounds) == 0 {
			return nil, fmt.Errorf("filters: range on %s needs a value {gt, gte, lt, lte}", f.Field)
		}
		return func(c *store.Contact) bool { return inRange(fieldValue(c, f.Field), bounds) }, nil
	}
	return nil, fmt.Errorf("filters: unknown operator %s", f.Operator)
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return strings.ToLower(v)
	case time.Time:
		return iso(v)
	case float64:
		return fmt.Sprint(v)
	}
	return fmt.Sprint(v)
}

func equals(field, want any) bool {
	if list, ok := want.([]any); ok {
		return slices.ContainsFunc(list, func(w any) bool { return equals(field, w) })
	}
	switch f := field.(type) {
	case []string:
		return slices.Contains(f, text(want))
	case bool:
		b, ok := want.(bool)
		return ok && b == f
	case time.Time:
		t, ok := asTime(want)
		return ok && t.Equal(f)
	}
	return text(field) == text(want)
}

func contains(field, want any) bool {
	if list, ok := field.([]string); ok {
		return slices.ContainsFunc(list, func(t string) bool { return strings.Contains(t, text(want)) })
	}
	return strings.Contains(text(field), text(want))
}

func present(field any) bool {
	switch f := field.(type) {
	case string:
		return f != ""
	case []string:
		return len(f) > 0
	case time.Time:
		return !f.IsZero()
	}
	return field != nil
}

// asTime reads a time given as ms since the epoch or as ISO text.
func asTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case float64:
		return msTime(v)
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		return t, err == nil
	}
	return time.Time{}, false
}

// The times a cursor may name, in ms since the epoch: years 1 to 9999, as
// the twin's dates are written.
const (
	minMillis = -62135596800000
	maxMillis = 253402300799999
)

// msTime is a time in ms since the epoch; false when ms is not a whole
// number of the years 1 to 9999 (NaN, ±Inf and what would overflow among
// them), which no cursor of the twin holds.
func msTime(ms float64) (time.Time, bool) {
	if !(ms >= minMillis && ms <= maxMillis) || ms != math.Trunc(ms) {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)).UTC(), true
}

func inRange(field any, bounds map[string]any) bool {
	for op, b := range bounds {
		var c int
		if t, ok := field.(time.Time); ok {
			bt, ok := asTime(b)
			if !ok {
				return false
			}
			c = t.Compare(bt)
		} else {
			c = strings.Compare(text(field), text(b))
		}
		switch op {
		case "gt":
			if c <= 0 {
				return false
			}
		case "gte":
			if c < 0 {
				return false
			}
		case "lt":
			if c >= 0 {
				return false
			}
		case "lte":
			if c > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (a *API) searchContacts(r *pipeline.Request) (pipeline.Response, error) {
	var in searchInput
	if err := r.Decode(&in); err != nil {
		return pipeline.Response{}, err
	}
	loc, err := a.location(r, in.LocationID)
	if err != nil {
		return pipeline.Response{}, err
	}
	if in.Page == 0 {
		in.Page = 1
	}
	// Divided, not multiplied: page has no maximum and the product can overflow.
	if in.SearchAfter == nil && in.Page > maxSearchWindow/in.PageLimit {
		return pipeline.Response{}, pipeline.Unprocessable(fmt.Sprintf("page * pageLimit must not exceed %d; use searchAfter to go deeper", maxSearchWindow))
	}
	preds := []func(*store.Contact) bool{}
	if q := matchQuery(in.Query); q != nil {
		preds = append(preds, q)
	}
	var problems []string
	for _, f := range in.Filters {
		p, err := f.compile()
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		preds = append(preds, p)
	}
	if len(problems) > 0 {
		return pipeline.Response{}, pipeline.Unprocessable(problems...)
	}
	sorts := in.Sort
	if len(sorts) == 0 {
		sorts = []searchSort{{Field: "dateAdded", Direction: "desc"}}
	}
	var after []any
	if len(in.SearchAfter) > 0 {
		if after, err = cursorKey(sorts, in.SearchAfter); err != nil {
			return pipeline.Response{}, pipeline.Unprocessable(err.Error())
		}
	}
	// The page is the first PageLimit hits after the cursor, or, without
	// one, those from (Page-1)*PageLimit on: only the first want of the
	// hits that can be on it are kept (and copied), in a bounded heap, not
	// every hit sorted, which made a walk of n contacts n pages of n log n.
	start, want := 0, in.PageLimit
	switch {
	case after != nil:
	case in.Page-1 <= (math.MaxInt-in.PageLimit)/in.PageLimit: // never overflows
		start = (in.Page - 1) * in.PageLimit
		want += start
	default: // past any end
		start, want = math.MaxInt, 0
	}
	kept := &hits{sorts: sorts}
	total := 0
	a.Store.ScanContacts(loc.ID, func(c *store.Contact) bool {
		for _, p := range preds {
			if !p(c) {
				return true
			}
		}
		total++
		key := make([]any, 0, len(sorts)+1)
		for _, s := range sorts {
			key = append(key, fieldValue(c, s.Field))
		}
		key = append(key, c.ID)
		// The first contact that sorts after the cursor: a contact changed
		// or deleted since the cursor was read moves no other.
		if after != nil && compareKeys(sorts, key, after) <= 0 {
			return true
		}
		if kept.Len() == want {
			if want == 0 || compareKeys(sorts, key, kept.h[0].key) >= 0 {
				return true
			}
			heap.Pop(kept)
		}
		heap.Push(kept, hit{store.CloneContact(c), key})
		return true
	})
	found := kept.h
	slices.SortFunc(found, func(x, y hit) int { return compareKeys(sorts, x.key, y.key) })
	start = min(start, len(found))
	page := found[start : start+min(in.PageLimit, len(found)-start)]
	out := make([]any, 0, len(page))
	for _, h := range page {
		after := make([]any, 0, len(h.key))
		for _, v := range h.key {
			if t, ok := v.(time.Time); ok {
				v = t.UnixMilli()
			}
			after = append(after, v)
		}
		out = append(out, a.searched(h.c, after))
	}
	return pipeline.JSON(http.StatusOK, map[string]any{"contacts": out, "total": total}), nil
}

// hit is a contact a search found, with its sort key: the sort fields'
// values, then its id.
type hit struct {
	c   store.Contact
	key []any
}

// hits is a heap of hits, the one that sorts last (by sorts) on top.
type hits struct {
	sorts []searchSort
	h     []hit
}

func (h *hits) Len() int           { return len(h.h) }
func (h *hits) Less(i, j int) bool { return compareKeys(h.sorts, h.h[i].key, h.h[j].key) > 0 }
func (h *hits) Swap(i, j int)      { h.h[i], h.h[j] = h.h[j], h.h[i] }
func (h *hits) Push(x any)         { h.h = append(h.h, x.(hit)) }
func (h *hits) Pop() any {
	last := h.h[len(h.h)-1]
	h.h = h.h[:len(h.h)-1]
	return last
}

// compareKeys orders two sort keys: by each sort in its direction, then by
// id ascending, so that contacts with equal values keep one order a poller
// can page through.
func compareKeys(sorts []searchSort, x, y []any) int {
	for i, s := range sorts {
		c := compareField(x[i], y[i])
		if s.Direction == "desc" {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(x[len(sorts)].(string), y[len(sorts)].(string))
}

// cursorKey reads a searchAfter as the sort key it names: one value per sort
// (a time as ms since the epoch or ISO text), then an id.
func cursorKey(sorts []searchSort, after []any) ([]any, error) {
	if len(after) != len(sorts)+1 {
		return nil, fmt.Errorf("searchAfter must hold %d values: the searchAfter of the last contact of the previous page", len(sorts)+1)
	}
	key := make([]any, len(after))
	for i, s := range sorts {
		switch s.Field {
		case "dateAdded", "dateUpdated":
			t, ok := asTime(after[i])
			if !ok {
				return nil, fmt.Errorf("searchAfter.%d must be a time (ms since the epoch) for %s", i, s.Field)
			}
			key[i] = t
		default:
			key[i] = after[i]
		}
	}
	id, ok := after[len(sorts)].(string)
	if !ok {
		return nil, fmt.Errorf("searchAfter.%d must be a contact id", len(sorts))
	}
	key[len(sorts)] = id
	return key, nil
}

func compareField(x, y any) int {
	if tx, ok := x.(time.Time); ok {
		ty, _ := y.(time.Time)
		return tx.Compare(ty)
	}
	return cmp.Compare(text(x), text(y))
}
