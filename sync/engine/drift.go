package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
)

// RunDrift is the run-log kind of a comparison of the two sides.
const RunDrift = "drift"

// Problems a Difference names.
const (
	DriftMissing    = "missing in Marketing 360"
	DriftDuplicated = "more than one Marketing 360 contact"
	DriftChanged    = "changed since the sync wrote it"
	DriftDeleted    = "deleted in Marketing 360 (not made again)"
)

// Difference is a HighLevel contact whose Marketing 360 counterpart is not
// as the sync would have it.
type Difference struct {
	HLID, Name string
	// M360IDs are the Marketing 360 contacts that carry the HighLevel id
	// (externalIds.ghl), in id order.
	M360IDs []string
	Problem string
	// Repairable: a Converge job of the contact brings it in line.
	Repairable bool
}

// Differences compares a location's HighLevel contacts with the Marketing
// 360 contacts that carry their ids and with the sync's mappings, and
// returns what differs, by HighLevel id. It reads every contact of both
// sides (a search page per 500 HighLevel contacts, a list page per 100
// Marketing 360 ones).
func Differences(ctx context.Context, db *state.DB, hl *highlevelapi.ClientWithResponses, m *m360api.ClientWithResponses, location string) ([]Difference, error) {
	byGHL := map[string][]string{}
	for c, err := range m.Contacts(ctx, m360api.M360ListContactsParams{}) {
		if err != nil {
			return nil, fmt.Errorf("engine: list Marketing 360 contacts: %w", err)
		}
		if g := deref(c.ExternalIds.Ghl); g != "" {
			byGHL[g] = append(byGHL[g], strconv.FormatInt(c.Id, 10))
		}
	}
	var out []Difference
	for c, err := range hl.Search(ctx, highlevelapi.SearchBodyV2DTO{LocationId: location}) {
		if err != nil {
			return nil, fmt.Errorf("engine: search HighLevel contacts: %w", err)
		}
		d := Difference{HLID: c.Id, Name: strings.TrimSpace(deref(c.FirstName) + " " + deref(c.LastName)), M360IDs: byGHL[c.Id]}
		if d.Name == "" {
			d.Name = deref(c.Email)
		}
		slices.SortFunc(d.M360IDs, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
		mp, err := db.MappingByHighLevel(ctx, EntityContact, location, c.Id)
		if err != nil && !errors.Is(err, state.ErrNotFound) {
			return nil, fmt.Errorf("engine: differences: %w", err)
		}
		mapped := err == nil
		switch {
		case len(d.M360IDs) > 1:
			d.Problem = DriftDuplicated
		case len(d.M360IDs) == 0 && mapped && mp.M360ID != "":
			d.Problem = DriftDeleted
		case len(d.M360IDs) == 0:
			d.Problem, d.Repairable = DriftMissing, true
		case !mapped || mp.HLVersion != deref(c.DateUpdated):
			d.Problem, d.Repairable = DriftChanged, true
		default:
			continue
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Difference) int { return strings.Compare(a.HLID, b.HLID) })
	return out, nil
}
