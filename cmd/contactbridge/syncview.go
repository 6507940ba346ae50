package main

import (
	"context"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	syncrun "github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/state"
)

// Bounds of what the dashboard's Sync panel is sent.
const (
	// recentPerFlow is how many of each flow's latest effects it shows.
	recentPerFlow = 10
	// differencesShown is how many differences it lists.
	differencesShown = 100
)

// syncView is the running sync as the HighLevel twin's dashboard shows it
// (admin.SyncView): sync status with each flow's recent effects, and
// reconcile --dry-run's differences.
type syncView struct {
	sync     *syncrun.Sync
	conns    []statusConnection
	hl       *highlevelapi.ClientWithResponses
	m        *m360api.ClientWithResponses
	location string
	now      func() time.Time
}

// newSyncView is s, run with cfg, as the dashboard shows it.
func newSyncView(s *syncrun.Sync, cfg syncrun.Config) (*syncView, error) {
	hl, m, err := syncrun.Clients(cfg)
	if err != nil {
		return nil, err
	}
	return &syncView{sync: s, hl: hl, m: m, location: cfg.HighLevel.Location, now: time.Now,
		conns: upConnections(cfg)}, nil
}

// dashboardStatus is sync status with each flow's latest effects.
type dashboardStatus struct {
	syncStatus
	RecentEffects []statusEffect `json:"recentEffects"`
}

type statusEffect struct {
	// Flow is the flow (f1 to f6) or "rule:<name>"; Rule names the user
	// rule of a rule's action.
	Flow      string    `json:"flow"`
	Rule      string    `json:"rule,omitempty"`
	Key       string    `json:"key"`
	Op        string    `json:"op"`
	Target    string    `json:"target"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	UpdatedAt time.Time `json:"updatedAt"`
	Error     string    `json:"error,omitempty"`
}

// Status implements admin.SyncView.
func (v *syncView) Status(ctx context.Context) (any, error) {
	st, err := statusOf(ctx, v.sync.DB(), v.sync.Queue(), v.conns, v.now())
	if err != nil {
		return nil, err
	}
	effects, err := v.sync.DB().RecentEffects(ctx, recentPerFlow)
	if err != nil {
		return nil, err
	}
	out := dashboardStatus{syncStatus: st, RecentEffects: make([]statusEffect, 0, len(effects))}
	for _, e := range effects {
		rule, _ := strings.CutPrefix(e.Flow, state.RuleFlowPrefix)
		if rule == e.Flow {
			rule = ""
		}
		out.RecentEffects = append(out.RecentEffects, statusEffect{Flow: e.Flow, Rule: rule, Key: e.Key, Op: e.Op, Target: e.Target,
			State: e.State, Attempts: e.Attempts, UpdatedAt: e.UpdatedAt, Error: e.LastError})
	}
	return out, nil
}

type viewDifference struct {
	HLID       string   `json:"hlId"`
	Name       string   `json:"name"`
	M360IDs    []string `json:"m360Ids"`
	Problem    string   `json:"problem"`
	Repairable bool     `json:"repairable"`
}

// Differences implements admin.SyncView: the first differencesShown of
// reconcile --dry-run's, and how many there are. It repairs nothing.
func (v *syncView) Differences(ctx context.Context) (any, error) {
	diffs, err := engine.Differences(ctx, v.sync.DB(), v.hl, v.m, v.location)
	if err != nil {
		return nil, err
	}
	shown := make([]viewDifference, 0, min(len(diffs), differencesShown))
	for _, d := range diffs[:min(len(diffs), differencesShown)] {
		ids := d.M360IDs
		if ids == nil {
			ids = []string{}
		}
		shown = append(shown, viewDifference{HLID: d.HLID, Name: d.Name, M360IDs: ids, Problem: d.Problem, Repairable: d.Repairable})
	}
	return map[string]any{"total": len(diffs), "differences": shown}, nil
}
