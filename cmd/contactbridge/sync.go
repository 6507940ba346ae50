package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/mock/gctune"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/receiver"
	syncrun "github.com/contactbridge/contactbridge/sync/run"
)

// defaultSyncDB is the sync's database file by default.
const defaultSyncDB = "contactbridge-sync.db"

// stopWait bounds a graceful stop: running jobs get this long to finish.
const stopWait = 10 * time.Second

const syncSettingsHelp = `Settings come from, highest first: the flags, CONTACTBRIDGE_SYNC__* environment
variables (CONTACTBRIDGE_SYNC__HIGHLEVEL__TOKEN=...), the sync: section of the
config file (./contactbridge.yaml when it exists, or --config FILE), the
defaults; --print-config shows the merged result. Without --hl-token, the
HighLevel OAuth tokens that connect stored in --credentials are used (and
refreshed there) for --hl-client-id's app; without --m360-client-secret, the
Marketing 360 key connect stored.`

func newSyncCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "The sync between a HighLevel location and a Marketing 360 account",
	}
	cmd.AddCommand(newSyncRunCmd(stdout, stderr), newSyncBackfillCmd(stdout, stderr), newSyncStatusCmd(stdout),
		newSyncReplayCmd(stdout, stderr), newSyncReconcileCmd(stdout, stderr), newSyncCatalogCmd(stdout))
	return cmd
}

// syncCommand loads a sync command's settings: the config, or, with
// --print-config, prints them and says so (done).
func syncCommand(cmd *cobra.Command, configPath *string, stdout io.Writer) (cfg syncConfig, done bool, err error) {
	if cfg, err = loadSyncConfig(cmd.Flags(), *configPath, nil); err != nil {
		return cfg, false, err
	}
	if fl := cmd.Flags().Lookup("listen"); fl != nil && !isLoopback(cfg.Listen) {
		return cfg, false, usageErrorf(cmd, "--listen %s: the receiver binds to loopback only; put a proxy in front of it", cfg.Listen)
	}
	if fl := cmd.Flags().Lookup("print-config"); fl == nil || fl.Value.String() != "true" {
		return cfg, false, nil
	}
	enc := yaml.NewEncoder(stdout)
	enc.SetIndent(2)
	return cfg, true, enc.Encode(map[string]syncConfig{syncSection: cfg})
}

// syncRunCommand loads the settings of a sync command that talks to the
// APIs, as syncCommand does, and makes the running sync's config of them.
func syncRunCommand(cmd *cobra.Command, configPath *string, stdout, stderr io.Writer) (syncConfig, syncrun.Config, bool, error) {
	cfg, done, err := syncCommand(cmd, configPath, stdout)
	if err != nil || done {
		return cfg, syncrun.Config{}, done, err
	}
	rc, err := syncRunConfig(cmd, cfg, stderr)
	if err != nil {
		return cfg, rc, false, err
	}
	// The rules are checked before anything runs: a set with a problem
	// does not start.
	rc.Flows, rc.Rules, err = runnableRules(cmd.Context(), cfg, *configPath)
	return cfg, rc, false, err
}

// syncRunConfig is the running sync's config of cfg, logging to stderr.
func syncRunConfig(cmd *cobra.Command, cfg syncConfig, stderr io.Writer) (syncrun.Config, error) {
	if cfg.HighLevel.Location == "" || cfg.HighLevel.Token == "" && cfg.HighLevel.ClientID == "" || cfg.M360.ClientID == "" {
		return syncrun.Config{}, usageErrorf(cmd, "the sync needs a HighLevel location (--hl-location) and its token (--hl-token, or --hl-client-id with the tokens connect stored) and a Marketing 360 key (--m360-client-id)")
	}
	rc, err := cfg.runConfig()
	if err != nil {
		return rc, err
	}
	lv, err := logLevel(cfg.LogLevel)
	if err != nil {
		return rc, usageErrorf(cmd, "%w", err)
	}
	rc.Logger = newLogger(cmd, stderr, lv)
	return rc, nil
}

func newSyncRunCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath *string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Receive webhooks, poll for what they missed and work the sync's jobs until stopped",
		Long: `Runs the webhook receiver (HighLevel at ` + receiver.PathHighLevel + `, Marketing 360 at
` + receiver.PathM360 + `, Prometheus metrics at ` + syncrun.PathMetrics + `), the reconcile that polls
each stream every --reconcile-every for the changes webhooks missed, and the
workers of the flows on the sync's database, until SIGINT or SIGTERM; then it
stops taking webhooks, lets running jobs finish for up to ` + stopWait.String() + ` and exits.
No job is lost: each waits in the database until it completes, and a job cut
short is worked again at the next start.

Flows: 1. a HighLevel contact, created or updated, makes or updates its
Marketing 360 contact and a "Follow up: <contact>" task; 2. once per contact
ever, the onboarding tasks and a welcome note in Marketing 360.

` + syncSettingsHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, rc, done, err := syncRunCommand(cmd, configPath, stdout, stderr)
			if err != nil || done {
				return err
			}
			return runSync(cmd.Context(), rc, func(s *syncrun.Sync) error {
				_, err := fmt.Fprintf(stdout, "sync receiving webhooks at %s%s and %s%s\n", s.URL(), receiver.PathHighLevel, s.URL(), receiver.PathM360)
				return err
			}, nil)
		},
	}
	f := cmd.Flags()
	configPath = syncConnectionFlags(f)
	syncRunFlags(f)
	f.Bool("print-config", false, "print the effective settings as YAML and exit")
	return cmd
}

// runSync runs the sync until ctx ends, telling started when it is up (an
// error from it stops the sync at once), then stops it gracefully. The
// collector runs at gctune's pace, as a twin's: the sync's work allocates
// much next to its live heap (GC took 12% of a backfill's CPU at GOGC=100;
// GOGC=400 took BenchmarkBackfill from 1.89-1.93 ms of CPU a contact to
// 1.67-1.70, interleaved).
//
// Stopping, it stops the work first, then calls idle (when not nil) while
// the receiver still answers, then closes the sync.
func runSync(ctx context.Context, cfg syncrun.Config, started func(*syncrun.Sync) error, idle func() error) error {
	defer gctune.Start(gctune.Default)()
	s, err := syncrun.Start(ctx, cfg)
	if err != nil {
		return err
	}
	err = started(s)
	if err == nil {
		<-ctx.Done()
		cfg.Logger.Info("stopping the sync")
	}
	return errors.Join(err, closeSync(ctx, s, idle))
}

// closeSync stops s, giving its running jobs stopWait, calling idle (when
// not nil) once they have stopped and before the receiver does.
func closeSync(ctx context.Context, s *syncrun.Sync, idle func() error) error {
	stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopWait)
	defer cancel()
	err := s.StopWork(stop)
	if idle != nil {
		err = errors.Join(err, idle())
	}
	return errors.Join(err, s.Close(stop))
}

func newSyncBackfillCmd(stdout, stderr io.Writer) *cobra.Command {
	var configPath *string
	cmd := &cobra.Command{
		Use:   "backfill",
		Short: "Walk every record of both sides once and sync it, resumably, within a share of the day's quota",
		Long: `Runs the sync (as sync run does) and walks every Marketing 360 contact, task,
note and event (first: before the sync writes there), then every HighLevel
contact, their tasks and notes, and the appointments of the --hl-calendar
calendars once, enqueuing each record's job,
then waits for the jobs (a failed one for its retries; Ctrl-C leaves them to
sync run) and exits. Progress goes to stderr, a line a page of each stream.

It is resumable: each page moves the walk's cursor in the database in the
transaction that enqueues its jobs, so a backfill stopped (Ctrl-C, a crash,
kill -9) goes on where it stopped, and a record is synced once. It spends at
most --backfill-share of a HighLevel location's --daily-quota a day (each
request of its walks: a search, a contact's two lists, a calendar's list; and
the read of each record it enqueues); spent, it waits for the next day
(midnight UTC, when the quota resets) and goes on.

` + syncSettingsHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, rc, done, err := syncRunCommand(cmd, configPath, stdout, stderr)
			if err != nil || done {
				return err
			}
			return runBackfill(cmd.Context(), rc, engine.BackfillConfig{Share: cfg.Backfill.Share, DailyQuota: cfg.Backfill.DailyQuota},
				stdout, stderr)
		},
	}
	f := cmd.Flags()
	configPath = syncConnectionFlags(f)
	syncRunFlags(f)
	f.Bool("print-config", false, "print the effective settings as YAML and exit")
	return cmd
}

// runBackfill starts the sync (the collector tuned as runSync tunes it),
// backfills, waits until no job of the backfill waits to run, and stops
// the sync.
func runBackfill(ctx context.Context, rc syncrun.Config, bc engine.BackfillConfig, stdout, stderr io.Writer) error {
	defer gctune.Start(gctune.Default)()
	s, err := syncrun.Start(ctx, rc)
	if err != nil {
		return err
	}
	bc.Clock = rc.Clock
	bc.Progress = func(p engine.BackfillProgress) {
		switch {
		case !p.Until.IsZero():
			fmt.Fprintf(stderr, "backfill %s: %d read; the day's share of the quota is spent, going on at %s\n", p.Stream, p.Read, p.Until.Format(time.RFC3339))
		case p.End:
			fmt.Fprintf(stderr, "backfill %s: %d read, %d enqueued, done\n", p.Stream, p.Read, p.Enqueued)
		default:
			fmt.Fprintf(stderr, "backfill %s: %d read, %d enqueued, about %d left\n", p.Stream, p.Read, p.Enqueued, p.Left)
		}
	}
	stats, err := s.Poller().Backfill(ctx, bc)
	if err == nil {
		err = s.Drain(ctx)
	}
	if err == nil {
		_, err = fmt.Fprintf(stdout, "backfill done: %d records read, %d jobs enqueued and worked\n", stats.Seen, stats.Enqueued)
	}
	return errors.Join(err, closeSync(ctx, s, nil))
}
