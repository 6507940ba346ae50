package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// failingShown is how many failing effects status lists.
const failingShown = 5

// openSyncDB opens the sync's database of cfg, and a queue on it that only
// enqueues (its tables migrated); the caller closes the database.
func openSyncDB(ctx context.Context, cfg syncConfig) (*state.DB, *engine.River, error) {
	db, err := state.Open(ctx, cfg.DB, state.Options{})
	if err != nil {
		return nil, nil, err
	}
	q, err := engine.NewRiver(ctx, db, engine.Config{}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	return db, q, nil
}

// syncStatus is what sync status reports.
type syncStatus struct {
	Connections []statusConnection `json:"connections"`
	// Queue counts the jobs by kind and state ("converge/available").
	Queue map[string]int `json:"queue"`
	// Lag is the age of the oldest converge job waiting to run (0: none
	// waits).
	LagSeconds float64   `json:"lagSeconds"`
	LastEvent  time.Time `json:"lastEvent,omitzero"`
	// Inbox counts the events by source and state, Effects the effects by
	// state, Mappings the mapped pairs by kind.
	Inbox    map[string]int `json:"inbox"`
	Effects  map[string]int `json:"effects"`
	Mappings map[string]int `json:"mappings"`
	Cursors  []statusCursor `json:"cursors"`
	// RateLimited counts the answers 429 by API (hl, m360) since the
	// database was made.
	RateLimited map[string]int `json:"rateLimited"`
	// LastErrors are the failing effects and the failed runs, the latest
	// first.
	LastErrors []statusError `json:"lastErrors"`
	// Drift is the last comparison of the two sides (sync reconcile).
	Drift *statusDrift `json:"drift,omitempty"`
	// Rules are the user rules' actions, by rule.
	Rules []statusRule `json:"rules"`
}

// statusRule is how one user rule's actions stand: done, parked (unknown
// of them with an unknown outcome: not sent again) with the last parked
// one's error, and pending (not run yet, or to be tried again).
type statusRule struct {
	Rule       string    `json:"rule"`
	Done       int       `json:"done"`
	Parked     int       `json:"parked"`
	Unknown    int       `json:"unknown"`
	Pending    int       `json:"pending"`
	LastStatus int       `json:"lastStatus,omitempty"`
	LastError  string    `json:"lastError,omitempty"`
	LastParked time.Time `json:"lastParked,omitzero"`
}

type statusConnection struct {
	API     string `json:"api"`
	Tenant  string `json:"tenant"`
	Auth    string `json:"auth"`
	BaseURL string `json:"baseURL"`
}

type statusCursor struct {
	Stream    string    `json:"stream"`
	Value     string    `json:"value"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type statusError struct {
	At    time.Time `json:"at"`
	What  string    `json:"what"`
	Error string    `json:"error"`
}

type statusDrift struct {
	At          time.Time `json:"at"`
	Differences int       `json:"differences"`
	Repairs     int       `json:"repairs"`
}

func newSyncStatusCmd(stdout io.Writer) *cobra.Command {
	var configPath *string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the sync's connections, queue depth, lag, 429s, last errors and drift",
		Long: `Reads the sync's database (a running sync may be using it) and shows the
connections, the queue's jobs by kind and state, the lag (the age of the oldest
job waiting to run), the stored events, effects and mappings, where each poll
stands, the answers 429 Too Many Requests by API, the last errors, the last
comparison of the two sides (sync reconcile), and each user rule's actions:
done, parked (with the last error; sync replay --rule retries them) and
pending. The running sync also counts the 429s on its /metrics
(contactbridge_sync_api_rate_limited_total).

` + syncSettingsHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, done, err := syncCommand(cmd, configPath, stdout)
			if err != nil || done {
				return err
			}
			st, err := readStatus(cmd.Context(), cfg, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return printStatus(stdout, st)
		},
	}
	f := cmd.Flags()
	configPath = syncConnectionFlags(f)
	f.BoolVar(&asJSON, "json", false, "print the status as JSON")
	f.Bool("print-config", false, "print the effective settings as YAML and exit")
	return cmd
}

// readStatus reads the status from cfg's database at now.
func readStatus(ctx context.Context, cfg syncConfig, now time.Time) (syncStatus, error) {
	db, q, err := openSyncDB(ctx, cfg)
	if err != nil {
		return syncStatus{}, err
	}
	defer db.Close()
	hlAuth := "token"
	if cfg.HighLevel.Token == "" {
		hlAuth = "oauth (" + cfg.Credentials + ")"
	}
	conns := statusConnections(cfg.HighLevel.Location, hlAuth, cfg.HighLevel.BaseURL, cfg.M360.ClientID, cfg.M360.BaseURL)
	// up's database names the twins its sync ran on.
	switch c, err := db.Cursor(ctx, upConns); {
	case err == nil:
		if err := json.Unmarshal([]byte(c.Value), &conns); err != nil {
			return syncStatus{}, fmt.Errorf("sync status: %s: %w", upConns, err)
		}
	case !errors.Is(err, state.ErrNotFound):
		return syncStatus{}, fmt.Errorf("sync status: %w", err)
	}
	return statusOf(ctx, db, q, conns, now)
}

// statusConnections are the connections status shows: the HighLevel
// location with how the sync authenticates there, and the Marketing 360 key.
func statusConnections(location, hlAuth, hlURL, m360Key, m360URL string) []statusConnection {
	return []statusConnection{{API: engine.SideHighLevel, Tenant: location, Auth: hlAuth, BaseURL: hlURL},
		{API: engine.SideM360, Tenant: m360Key, Auth: "api key", BaseURL: m360URL}}
}

// statusOf reads the status from db and q at now, showing conns.
func statusOf(ctx context.Context, db *state.DB, q *engine.River, conns []statusConnection, now time.Time) (syncStatus, error) {
	st := syncStatus{Queue: map[string]int{}, Connections: conns}
	counts, err := engine.JobCounts(ctx, db)
	if err != nil {
		return st, err
	}
	for _, c := range counts {
		st.Queue[c.Kind+"/"+c.State] = c.N
	}
	waiting, err := q.Jobs(ctx, []string{engine.KindConverge}, []string{"available", "retryable", "scheduled", "pending"}, 1)
	if err != nil {
		return st, err
	}
	if len(waiting) > 0 {
		st.LagSeconds = now.Sub(waiting[0].CreatedAt).Seconds()
	}
	dbst, err := db.Status(ctx, failingShown)
	if err != nil {
		return st, err
	}
	st.LastEvent, st.Inbox, st.Effects, st.Mappings = dbst.LastEvent, dbst.Inbox, dbst.Effects, dbst.Mappings
	st.RateLimited = map[string]int{engine.SideHighLevel: 0, engine.SideM360: 0}
	for api, n := range dbst.RateLimited {
		st.RateLimited[api] = int(n)
	}
	for _, c := range dbst.Cursors {
		if c.Stream == upConns { // shown as the connections
			continue
		}
		st.Cursors = append(st.Cursors, statusCursor{Stream: c.Stream, Value: c.Value, UpdatedAt: c.UpdatedAt})
	}
	for _, e := range dbst.Failing {
		st.LastErrors = append(st.LastErrors, statusError{At: e.UpdatedAt, What: "effect " + e.Key + " (" + e.State + ")", Error: e.LastError})
	}
	rules, err := db.RuleCounts(ctx)
	if err != nil {
		return st, err
	}
	st.Rules = make([]statusRule, 0, len(rules))
	for _, r := range rules {
		st.Rules = append(st.Rules, statusRule{Rule: r.Rule, Done: r.Done, Parked: r.Parked, Unknown: r.Unknown, Pending: r.Pending,
			LastStatus: r.LastStatus, LastError: r.LastError, LastParked: r.LastParked})
	}
	runs, err := db.Runs(ctx, "", 50)
	if err != nil {
		return st, err
	}
	for _, r := range runs {
		switch {
		case r.Kind == engine.RunDrift && st.Drift == nil:
			var stats statusDrift
			if err := json.Unmarshal([]byte(r.Stats), &stats); err != nil {
				return st, fmt.Errorf("drift run %d: %w", r.ID, err)
			}
			stats.At = r.StartedAt
			st.Drift = &stats
		case r.Error != "":
			st.LastErrors = append(st.LastErrors, statusError{At: r.FinishedAt, What: r.Kind + " of " + r.Tenant, Error: r.Error})
		}
	}
	slices.SortStableFunc(st.LastErrors, func(a, b statusError) int { return b.At.Compare(a.At) })
	st.LastErrors = st.LastErrors[:min(len(st.LastErrors), 2*failingShown)]
	return st, nil
}

// printStatus writes st as tables.
func printStatus(w io.Writer, st syncStatus) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CONNECTION\tTENANT\tAUTH\tBASE URL")
	for _, c := range st.Connections {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.API, c.Tenant, c.Auth, cmp.Or(c.BaseURL, "(live)"))
	}
	fmt.Fprintf(tw, "\nLAG\t%s\t(the oldest job waiting to run)\n", (time.Duration(st.LagSeconds * float64(time.Second))).Round(time.Millisecond))
	last := "never"
	if !st.LastEvent.IsZero() {
		last = st.LastEvent.Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "LAST EVENT\t%s\n", last)
	for _, sec := range []struct {
		title string
		m     map[string]int
	}{{"QUEUE (kind/state)", st.Queue}, {"EVENTS (source/state)", st.Inbox}, {"EFFECTS (state)", st.Effects}, {"MAPPINGS (kind)", st.Mappings}, {"429s (api)", st.RateLimited}} {
		fmt.Fprintf(tw, "\n%s\tCOUNT\n", sec.title)
		if len(sec.m) == 0 {
			fmt.Fprintln(tw, "(none)\t0")
		}
		for _, k := range slices.Sorted(maps.Keys(sec.m)) {
			fmt.Fprintf(tw, "%s\t%d\n", k, sec.m[k])
		}
	}
	fmt.Fprintln(tw, "\nSTREAM\tUPDATED\tCURSOR")
	for _, c := range st.Cursors {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Stream, c.UpdatedAt.Format(time.RFC3339), c.Value)
	}
	fmt.Fprintln(tw, "\nLAST ERRORS\tAT\tERROR")
	if len(st.LastErrors) == 0 {
		fmt.Fprintln(tw, "(none)\t\t")
	}
	for _, e := range st.LastErrors {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.What, e.At.Format(time.RFC3339), strings.ReplaceAll(e.Error, "\n", " "))
	}
	fmt.Fprintln(tw, "\nRULE\tDONE\tPARKED\tPENDING\tLAST PARKED ERROR")
	if len(st.Rules) == 0 {
		fmt.Fprintln(tw, "(none has acted)\t\t\t\t")
	}
	for _, r := range st.Rules {
		parked := fmt.Sprint(r.Parked)
		if r.Unknown > 0 {
			parked += fmt.Sprintf(" (%d unknown)", r.Unknown)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\n", r.Rule, r.Done, parked, r.Pending, strings.ReplaceAll(r.LastError, "\n", " "))
	}
	if st.Drift == nil {
		fmt.Fprintln(tw, "\nDRIFT\tnot compared yet (sync reconcile --dry-run)")
	} else {
		fmt.Fprintf(tw, "\nDRIFT\t%d differences at %s, %d repairs enqueued\n", st.Drift.Differences, st.Drift.At.Format(time.RFC3339), st.Drift.Repairs)
	}
	return tw.Flush()
}
