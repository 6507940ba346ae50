package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/engine"
	syncrun "github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/state"
)

// replayLimit bounds the events one replay re-enqueues.
const replayLimit = 10_000

func newSyncReplayCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath *string
	var since, rule string
	cmd := &cobra.Command{
		Use:   "replay <webhookId> | --since TIME | --rule NAME",
		Short: "Enqueue again the jobs of stored events (one webhook, or all since a time), or a rule's parked actions",
		Long: `Finds stored events in the sync's inbox, by webhook id (HighLevel webhookId,
Marketing 360 delivery id) or all received since --since (RFC 3339, or a
duration ago such as 2h), and enqueues the converge job of each one's record
again; a running sync (or the next sync run) works them. The jobs re-read each
record, so a replay writes only what is missing: nothing is made twice. At most
` + fmt.Sprint(replayLimit) + ` events a run, oldest first.

With --rule NAME, the actions of that user rule that were parked (refused by
the API with a 4xx, no longer planned, or of an unknown outcome) go back to
pending and their entities' jobs are enqueued: each job plans the action again
from the rule as it is now (fix the rule first) and the entity's current
state, and runs it once. A parked action of an unknown outcome is sent again:
check first that the target does not hold it. At most ` + fmt.Sprint(replayLimit) + ` actions a run.

` + syncSettingsHelp,
		Args: func(cmd *cobra.Command, args []string) error {
			given := 0
			for _, set := range []bool{len(args) > 0, since != "", rule != ""} {
				if set {
					given++
				}
			}
			if given != 1 || len(args) > 1 {
				return usageErrorf(cmd, "%s takes a webhook id, --since or --rule, one of them", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, done, err := syncCommand(cmd, configPath, stdout)
			if err != nil || done {
				return err
			}
			if rule != "" {
				return replayRule(cmd.Context(), cfg, rule, stdout)
			}
			var from time.Time
			if since != "" {
				if from, err = parseSince(since, time.Now()); err != nil {
					return usageErrorf(cmd, "--since %q: %w", since, err)
				}
			}
			return replay(cmd.Context(), cfg, args, from, stdout)
		},
	}
	f := cmd.Flags()
	configPath = syncConnectionFlags(f)
	f.StringVar(&since, "since", "", "replay every event received since this time (RFC 3339, or a duration ago: 2h)")
	f.StringVar(&rule, "rule", "", "replay the parked actions of this user rule (after fixing it)")
	f.Bool("print-config", false, "print the effective settings as YAML and exit")
	return cmd
}

// parseSince reads an RFC 3339 time or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("want an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (2h)")
	}
	return now.Add(-d), nil
}

// sideOf is the side of the record a stored event is about.
func sideOf(e state.InboxEvent) string {
	switch e.Source {
	case state.SourceM360Webhook, state.SourceM360Poll:
		return engine.SideM360
	case state.SourceBackfill:
		if strings.HasPrefix(e.EventID, engine.SideM360+":") {
			return engine.SideM360
		}
	}
	return engine.SideHighLevel
}

// replay enqueues the jobs of the events named by ids, or received since
// from, in one transaction.
func replay(ctx context.Context, cfg syncConfig, ids []string, from time.Time, stdout io.Writer) error {
	db, q, err := openSyncDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var events []state.InboxEvent
	if len(ids) == 0 {
		if events, err = db.InboxEvents(ctx, state.InboxFilter{Since: from, Limit: replayLimit}); err != nil {
			return err
		}
	}
	for _, id := range ids {
		found := false
		for _, src := range []string{state.SourceHighLevelWebhook, state.SourceM360Webhook} {
			e, err := db.InboxEvent(ctx, src, id)
			if err == nil {
				events, found = append(events, e), true
			}
		}
		if !found {
			return fmt.Errorf("replay: no stored webhook %q", id)
		}
	}
	enqueued, joined, skipped := 0, 0, 0
	err = db.Tx(ctx, func(tx *state.Tx) error {
		for _, e := range events {
			if e.EntityKind == "" {
				skipped++ // a type the sync does not act on
				continue
			}
			res, err := q.Enqueue(ctx, tx, engine.Converge{Side: sideOf(e), EntityKind: e.EntityKind, Tenant: e.Tenant, ID: e.EntityID})
			if err != nil {
				return err
			}
			if res.Duplicate {
				joined++
			} else {
				enqueued++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "replayed %d events: %d jobs enqueued, %d joined one waiting, %d of a type the sync does not act on\n",
		len(events), enqueued, joined, skipped)
	if err == nil && len(events) == replayLimit {
		_, err = fmt.Fprintf(stdout, "the first %d only: run again with --since %s\n", replayLimit, events[len(events)-1].ReceivedAt.Format(time.RFC3339Nano))
	}
	return err
}

// replayRule puts the parked actions of rule back to pending and enqueues
// their entities' jobs.
func replayRule(ctx context.Context, cfg syncConfig, rule string, stdout io.Writer) error {
	db, q, err := openSyncDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := engine.ReplayRule(ctx, db, q, rule, time.Now(), replayLimit)
	if err != nil {
		return err
	}
	if n == 0 {
		_, err = fmt.Fprintf(stdout, "rule %q has no parked actions (sync status lists each rule's)\n", rule)
		return err
	}
	_, err = fmt.Fprintf(stdout, "replayed %d parked actions of rule %q: their entities' jobs are enqueued (sync run works them)\n", n, rule)
	if err == nil && n == replayLimit {
		_, err = fmt.Fprintf(stdout, "the first %d only: run again for the rest\n", replayLimit)
	}
	return err
}

func newSyncReconcileCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath *string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "reconcile",
		Short: "Compare both sides and print the differences; without --dry-run, enqueue their repairs",
		Long: `Reads every HighLevel contact of the location and every Marketing 360 contact of
the account, compares them with the sync's mappings, and prints a table of the
HighLevel contacts whose Marketing 360 counterpart is missing, duplicated,
deleted there, or older than the contact. Without --dry-run it enqueues the
converge job of each repairable one; a running sync (or the next sync run)
works them. The comparison is logged, for sync status.

` + syncSettingsHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, rc, done, err := syncRunCommand(cmd, configPath, stdout, stderr)
			if err != nil || done {
				return err
			}
			return reconcile(cmd.Context(), cfg, rc, dryRun, stdout)
		},
	}
	f := cmd.Flags()
	configPath = syncConnectionFlags(f)
	f.BoolVar(&dryRun, "dry-run", false, "print the differences only")
	f.Bool("print-config", false, "print the effective settings as YAML and exit")
	return cmd
}

// reconcile prints the differences and, unless dryRun, enqueues their
// repairs; the comparison is logged in the run log.
func reconcile(ctx context.Context, cfg syncConfig, rc syncrun.Config, dryRun bool, stdout io.Writer) error {
	hl, m, err := syncrun.Clients(rc)
	if err != nil {
		return err
	}
	db, q, err := openSyncDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	started := time.Now()
	diffs, err := engine.Differences(ctx, db, hl, m, cfg.HighLevel.Location)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HIGHLEVEL CONTACT\tNAME\tMARKETING 360\tDIFFERENCE")
	for _, d := range diffs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.HLID, d.Name, strings.Join(append([]string{"-"}, d.M360IDs...)[min(1, len(d.M360IDs)):], ","), d.Problem)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	repairs := 0
	err = db.Tx(ctx, func(tx *state.Tx) error {
		if !dryRun {
			for _, d := range diffs {
				if !d.Repairable {
					continue
				}
				if _, err := q.Enqueue(ctx, tx, engine.Converge{Side: engine.SideHighLevel, EntityKind: engine.EntityContact,
					Tenant: cfg.HighLevel.Location, ID: d.HLID}); err != nil {
					return err
				}
				repairs++
			}
		}
		run, err := tx.StartRun(ctx, engine.RunDrift, cfg.HighLevel.Location, started)
		if err != nil {
			return err
		}
		stats, err := json.Marshal(statusDrift{Differences: len(diffs), Repairs: repairs})
		if err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
		return tx.FinishRun(ctx, run, time.Now(), string(stats), "")
	})
	if err != nil {
		return err
	}
	switch {
	case dryRun:
		_, err = fmt.Fprintf(stdout, "%d differences (dry run: nothing enqueued)\n", len(diffs))
	default:
		_, err = fmt.Fprintf(stdout, "%d differences, %d repairs enqueued (sync run works them)\n", len(diffs), repairs)
	}
	return err
}

func newSyncCatalogCmd(stdout io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "List every operation of both APIs as an action and every webhook event as a trigger, with counts",
		Long: `Lists, from the specs the twins serve (openapi/highlevel.yaml and
openapi/marketing360.yaml), every operation of both APIs as an action the sync
can take and every webhook event type as a trigger it can receive, with the
counts of each. Operations only the twin serves (admin, OAuth consent pages) are
marked twin-only.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return catalog(cmd.Context(), stdout) },
	}
	return cmd
}

// catalog prints the actions and triggers of both specs.
func catalog(ctx context.Context, stdout io.Writer) error {
	hl, err := openapi.LoadHighLevel(ctx, "")
	if err != nil {
		return err
	}
	m, err := openapi.LoadMarketing360(ctx, "")
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	actions, triggers := 0, 0
	for _, api := range []struct {
		name string
		spec *openapi.Spec
	}{{"HighLevel", hl}, {"Marketing 360", m}} {
		fmt.Fprintf(tw, "%s ACTIONS\tMETHOD\tPATH\tNOTE\n", strings.ToUpper(api.name))
		ops := api.spec.Operations()
		slices.SortFunc(ops, func(a, b *openapi.Operation) int { return strings.Compare(a.ID, b.ID) })
		for _, op := range ops {
			mark := ""
			if op.NotInLiveAPI {
				mark = "twin-only"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", op.ID, op.Method, op.Path, mark)
		}
		hooks := webhookTypes(api.spec)
		fmt.Fprintf(tw, "\n%s TRIGGERS\n", strings.ToUpper(api.name))
		for _, h := range hooks {
			fmt.Fprintf(tw, "  %s\n", h)
		}
		fmt.Fprintf(tw, "\n%s: %d actions, %d triggers\n\n", api.name, len(ops), len(hooks))
		actions, triggers = actions+len(ops), triggers+len(hooks)
	}
	fmt.Fprintf(tw, "In all: %d actions and %d triggers (%d)\n", actions, triggers, actions+triggers)
	return tw.Flush()
}

// webhookTypes are the event types of a spec's webhook catalog
// (x-webhooks), sorted.
func webhookTypes(s *openapi.Spec) []string {
	hooks, _ := s.Doc.Extensions["x-webhooks"].(map[string]any)
	types := make([]string, 0, len(hooks))
	for name := range hooks {
		types = append(types, name)
	}
	slices.Sort(types)
	return types
}
