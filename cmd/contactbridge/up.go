package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/adminapi"
	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/receiver"
	syncrun "github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/state"
)

// upSeed is the seed of up's twins unless --seed gives another: the same
// ids, credentials and keys at every start, so the printed curls stay the
// same from run to run.
const upSeed = 1

// upMark is the cursor in up's database that names the twins' data the
// database was last synced with (its fingerprint), or upRunning while up
// runs: a database left by a killed up is never taken for a clean one.
const (
	upMark    = "up:twins"
	upRunning = "running"
)

// upConns is the cursor in up's database that holds its sync's
// connections (JSON), which sync status shows for that database: the
// config's are not the ones up runs with.
const upConns = "up:connections"

func newUpCmd(stdout, stderr io.Writer) *cobra.Command {
	cfg := defaultMockConfig()
	var listen, db, level string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run both twins with the default data and the sync connected to them, in one process",
		Long: `Starts the HighLevel and Marketing 360 twins with the default data set, and the
sync connected to them with their default credentials, both twins' webhooks
subscribed to the sync's receiver; all on loopback, in one process,
until Ctrl-C. It prints the twins' credentials as mock does, then what to try: a curl line that creates a HighLevel
contact, and one that shows the Marketing 360 tasks the sync made for it.

The twins keep their data in memory: each start has the default data again
(the same ids each time, from a fixed seed unless --seed). The database is
kept to resume on only while it describes those twins: when the last run
changed their data (a contact made), up starts the database afresh, so no
job waits for records that are gone and nothing is made twice. A --db that
up did not make (sync run's) is refused, never touched.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			lv, err := logLevel(level)
			if err != nil {
				return usageErrorf(cmd, "%w", err)
			}
			// The sync checks webhook timestamps against the real time.
			cfg.LogLevel, cfg.ClockMode = level, "real"
			if err := checkMockConfig(&cfg, false); err != nil {
				return usageErrorf(cmd, "%w", err)
			}
			if !isLoopback(listen) {
				return usageErrorf(cmd, "--listen %s: the receiver binds to loopback only", listen)
			}
			return runUp(cmd.Context(), cfg, listen, db, newLogger(cmd, stderr, lv), stdout)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.HighLevel.Addr, "addr", cfg.HighLevel.Addr, "address of the HighLevel twin (loopback)")
	f.StringVar(&cfg.M360.Addr, "m360-addr", cfg.M360.Addr, "address of the Marketing 360 twin (loopback)")
	f.Uint64Var(&cfg.Seed, "seed", upSeed, "seed for the twins' ids, secrets and keys (the clock stays real)")
	f.StringVar(&listen, "listen", syncrun.DefaultListen, "address of the sync's webhook receiver (loopback)")
	f.StringVar(&db, "db", defaultSyncDB, "the sync's database file (SQLite); resumed on while it describes the twins' data, else started afresh")
	f.StringVar(&level, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// runUp starts the twins, then the sync on them, subscribes the twin's
// HighLevel webhooks to the sync, attaches the sync to the dashboard, prints what to try and runs until ctx
// ends; then it stops the sync's work, the twins and the sync.
func runUp(ctx context.Context, cfg mockConfig, listen, db string, logger *slog.Logger, stdout io.Writer) (err error) {
	// The rules (./contactbridge.yaml's sync.rules, ./rules) are checked
	// before anything starts.
	flows, userRules, err := runnableRules(ctx, defaultSyncConfig(), "")
	if err != nil {
		return err
	}
	srv, opts, _, stop, err := startTwins(cfg, logger)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stop()) }()
	start, err := twinsFingerprint(srv)
	if err != nil {
		return err
	}
	if err := claimUpDB(ctx, db, start, logger); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			return // the mark stays "running": the next start begins afresh
		}
		end, err2 := twinsFingerprint(srv)
		if err2 == nil {
			err2 = markUpDB(context.WithoutCancel(ctx), db, end)
		}
		err = err2
	}()
	d := srv.Defaults()
	// The sync has its own Marketing 360 key, so that its bucket (five
	// requests a second per key) is not the one the printed curls spend.
	admin := &adminapi.Client{BaseURL: srv.HighLevel.URL(), Token: opts.Admin.Token, HTTPClient: srv.HighLevel.Client()}
	key, err := admin.MintM360Key(ctx, adminapi.M360Key{AccountID: d.M360.Key.AccountID, Permissions: d.M360.Key.Permissions})
	if err != nil {
		return fmt.Errorf("up: a Marketing 360 key for the sync: %w", err)
	}
	sc := syncrun.Config{DB: db, Listen: listen, Flows: flows, Rules: userRules, Logger: logger,
		HighLevel: syncrun.HighLevel{BaseURL: srv.HighLevel.URL(), Token: d.HighLevel.Token, Location: d.HighLevel.Location.ID,
			WebhookKey: srv.Webhooks().Keys().Public().Ed25519, Calendars: calendarIDs(d.HighLevel.Location.Calendars)},
		M360: syncrun.M360{BaseURL: srv.M360.URL(), ClientID: key.ClientID, ClientSecret: key.ClientSecret,
			SubscribeWebhooks: true},
		// The twins' default data is the accounts' past: the sync follows
		// what changes from now on (sync backfill would walk the rest),
		// so that what the printed curls do happens at once.
		Poll: engine.PollerConfig{From: time.Now()}}
	if err := saveUpConnections(ctx, db, upConnections(sc)); err != nil {
		return err
	}
	return runSync(ctx, sc, func(s *syncrun.Sync) error {
		if err := subscribe(ctx, srv, opts.Admin.Token, s.URL()+receiver.PathHighLevel); err != nil {
			return err
		}
		view, err := newSyncView(s, sc)
		if err != nil {
			return err
		}
		srv.AttachSync(view)
		printBanner(stdout, srv, opts, s.URL()+receiver.PathHighLevel)
		return printUp(stdout, srv, s)
		// Stopping: once the sync's jobs have stopped, the twins close
		// first, their last webhooks (of the sync's last writes) delivered
		// to the receiver, which still answers.
	}, srv.Close)
}

// calendarIDs are the ids of cals.
func calendarIDs(cals []store.Calendar) []string {
	out := make([]string, 0, len(cals))
	for _, c := range cals {
		out = append(out, c.ID)
	}
	return out
}

// twinsFingerprint is a hash of the twins' records (both APIs'), the
// subscriptions and the accounts' start times left out: what a database
// synced with them describes.
func twinsFingerprint(srv *mock.Server) (string, error) {
	st := srv.Store().Snapshot()
	st.Webhooks, st.M360Webhooks = nil, nil
	for i := range st.M360Accounts {
		st.M360Accounts[i].Created = 0
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("up: the twins' state: %w", err)
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// claimUpDB readies up's database at path for twins of fingerprint: kept
// when it was last synced with that data, made afresh when it was synced
// with other data (or left by a killed up), made when missing; then marked
// as running. A database up did not make is refused.
func claimUpDB(ctx context.Context, path, fingerprint string, logger *slog.Logger) error {
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return markUpDB(ctx, path, upRunning)
	case err != nil:
		return fmt.Errorf("up: --db %s: %w", path, err)
	}
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		return fmt.Errorf("up: --db %s: %w", path, err)
	}
	mark, err := db.Cursor(ctx, upMark)
	err = errors.Join(err, db.Close())
	switch {
	case errors.Is(err, state.ErrNotFound):
		return fmt.Errorf("up: --db %s is a sync database up did not make (sync run's?): up leaves it alone; give it a file of its own", path)
	case err != nil:
		return fmt.Errorf("up: --db %s: %w", path, err)
	case mark.Value == fingerprint:
		logger.Info("up: the twins hold the data the database was synced with; resuming on it", logkey.DB, path)
	default:
		logger.Info("up: the twins start with their default data, not the data the database was synced with; starting it afresh",
			logkey.DB, path)
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("up: start --db %s afresh: %w", path, err)
			}
		}
	}
	return markUpDB(ctx, path, upRunning)
}

// markUpDB records value as the twins' data up's database at path
// describes (upRunning while up runs).
func markUpDB(ctx context.Context, path, value string) error {
	return saveUpCursor(ctx, path, upMark, value)
}

// saveUpConnections records conns as the connections of up's database at
// path.
func saveUpConnections(ctx context.Context, path string, conns []statusConnection) error {
	raw, err := json.Marshal(conns)
	if err != nil {
		return fmt.Errorf("up: the sync's connections: %w", err)
	}
	return saveUpCursor(ctx, path, upConns, string(raw))
}

// saveUpCursor sets the cursor stream of up's database at path to value.
func saveUpCursor(ctx context.Context, path, stream, value string) error {
	db, err := state.Open(ctx, path, state.Options{})
	if err != nil {
		return fmt.Errorf("up: --db %s: %w", path, err)
	}
	err = db.SaveCursor(ctx, state.Cursor{Stream: stream, Value: value, UpdatedAt: time.Now()})
	if err = errors.Join(err, db.Close()); err != nil {
		return fmt.Errorf("up: %s of --db %s: %w", stream, path, err)
	}
	return nil
}

// upConnections are the connections of up's sync of cfg, as status and
// the dashboard show them.
func upConnections(cfg syncrun.Config) []statusConnection {
	return statusConnections(cfg.HighLevel.Location, "token", cfg.HighLevel.BaseURL, cfg.M360.ClientID, cfg.M360.BaseURL)
}

// subscribe sets the default app's webhook URL on the HighLevel twin, through
// its admin API as a person would.
func subscribe(ctx context.Context, srv *mock.Server, adminToken, url string) error {
	admin := &adminapi.Client{BaseURL: srv.HighLevel.URL(), Token: adminToken, HTTPClient: srv.HighLevel.Client()}
	if _, err := admin.SubscribeHighLevel(ctx, srv.Defaults().HighLevel.App.ClientID, url, nil); err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	return nil
}

func printUp(w io.Writer, srv *mock.Server, s *syncrun.Sync) error {
	d := srv.Defaults()
	_, err := fmt.Fprintf(w, `contactbridge up: the twins and the sync, on loopback (Ctrl-C stops all)
  HighLevel twin        %[1]s   (admin API: %[1]s/__admin/health)
  dashboard             %[12]s
  Marketing 360 twin    %[2]s/v1
  sync receiver         %[3]s%[4]s and %[3]s%[10]s (both subscribed)
  sync metrics          %[3]s%[11]s
  The sync follows what changes from now on (the twins' default data is not copied over),
  with a Marketing 360 key of its own, so the curls below do not share its rate limit.

Create a HighLevel contact:
  curl -s -X POST '%[1]s/contacts/' -H 'Authorization: Bearer %[5]s' -H 'Version: 2021-07-28' -H 'Content-Type: application/json' -d '{"locationId":"%[6]s","firstName":"Ada","lastName":"Lovelace","email":"ada.up@example.com"}'
Then see its Marketing 360 contact (externalIds.ghl is the HighLevel id) and the tasks the sync made:
  curl -s -u '%[7]s:%[8]s' '%[2]s/v1/contacts?email=ada.up@example.com'
  curl -s -u '%[7]s:%[8]s' '%[2]s/v1/tasks?updatedSince=%[9]d'
`, srv.HighLevel.URL(), srv.M360.URL(), s.URL(), receiver.PathHighLevel, d.HighLevel.Token, d.HighLevel.Location.ID,
		d.M360.Key.ClientID, d.M360.Key.ClientSecret, time.Now().Unix(), receiver.PathM360, syncrun.PathMetrics, dashboardURL(srv))
	return err
}
