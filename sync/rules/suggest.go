package rules

import (
	"slices"
	"strings"
)

// suggestion is "; did you mean X?" for the name of names closest to s (at
// most two edits away, case aside), or "".
func suggestion(s string, names []string) string {
	best, dist := "", 3
	for _, n := range names {
		if d := distance(strings.ToLower(s), strings.ToLower(n)); d < dist {
			best, dist = n, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// distance is the Levenshtein distance of two strings, in bytes; strings
// too long to be a name are far apart.
func distance(a, b string) int {
	if len(a) > 128 || len(b) > 128 {
		return len(a) + len(b)
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// operationIDs are the operationIds of both specs, sorted.
func (c *Catalog) operationIDs() []string {
	var ids []string
	for _, s := range c.specs {
		for _, op := range s.Operations() {
			ids = append(ids, op.ID)
		}
	}
	slices.Sort(ids)
	return ids
}
