package run_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/receiver"
	"github.com/contactbridge/contactbridge/sync/run"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// wait bounds every wait for what the sync does at once.
const wait = 2 * time.Minute

// TestSync_WebhookToMarketing360: the twins on loopback deliver their
// webhooks (each twice, ContactCreate followed by ContactUpdate) to a
// running sync; each new HighLevel contact gets its Marketing 360 contact,
// tasks and welcome note once; after a restart on the same database,
// nothing is made again.
func TestSync_WebhookToMarketing360(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw := twintest.New(t, twintest.Options{Listen: true})
	cfg := syncConfig(t, tw)
	s, err := run.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, tw, s)
	if status, body := tw.Admin(http.MethodPut, "/__admin/webhooks/settings",
		map[string]any{"duplicates": 1, "updateAfterCreate": true}); status != http.StatusOK {
		t.Fatalf("webhook settings: %d %s", status, body)
	}

	ids := createContacts(t, tw, 3)
	complete := func(c twintest.Counterpart) bool { return c.Contacts == 1 && len(c.Tasks) == 3 && len(c.Notes) == 1 }
	twintest.WaitFor(t, wait, func() bool {
		for _, id := range ids {
			if !complete(tw.Counterpart(id)) {
				return false
			}
		}
		return true
	})
	if n := s.Receiver().Counts().Duplicates; n == 0 {
		t.Errorf("the receiver saw no duplicate delivery; the toggle is off?")
	}
	// The jobs gauge follows the queue's table a moment behind the jobs.
	var scraped string
	twintest.WaitFor(t, wait, func() bool {
		scraped = scrape(t, s.URL()+run.PathMetrics)
		return strings.Contains(scraped, `contactbridge_sync_jobs{kind="converge",state="completed"}`)
	})
	for _, want := range []string{
		`contactbridge_sync_events_total{outcome="new",source="hl-webhook",type="ContactCreate"} 3`,
		`contactbridge_sync_inbox_events{source="hl-webhook",state="planned"}`,
		`contactbridge_sync_api_requests_total{api="m360",code="201"}`,
		`contactbridge_sync_api_requests_total{api="hl",code="200"}`,
		`contactbridge_sync_jobs{kind="converge",state="completed"}`,
		`contactbridge_sync_lag_seconds_count`,
		`contactbridge_sync_webhooks_refused_total{reason="bad-signature"} 0`,
	} {
		if !strings.Contains(scraped, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Every event received was worked: none is left new.
	twintest.WaitFor(t, wait, func() bool {
		left, err := s.DB().InboxEvents(ctx, state.InboxFilter{State: state.InboxNew})
		return err == nil && len(left) == 0
	})
	if planned, err := s.DB().InboxEvents(ctx, state.InboxFilter{State: state.InboxPlanned}); err != nil || len(planned) < len(ids) {
		t.Errorf("%d events planned (%v), want one a contact at least", len(planned), err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// A restart on the same database resumes without making anything again.
	s, err = run.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if c := tw.Counterpart(id); !complete(c) || !slices.Contains(c.Tasks, fmt.Sprint("Follow up: Grace", i)) {
			t.Errorf("contact %s: %+v; want one contact, 3 tasks (a follow-up), 1 note", id, c)
		}
	}
}

// syncConfig is the sync's config on tw (listening), its own database.
func syncConfig(t testing.TB, tw *twintest.Twin) run.Config {
	t.Helper()
	status, pem := tw.Admin(http.MethodGet, "/__admin/webhooks/keys/ed25519.pem", nil)
	if status != http.StatusOK {
		t.Fatalf("webhook key: %d %s", status, pem)
	}
	id, secret := tw.M360Key()
	return run.Config{DB: filepath.Join(t.TempDir(), "sync.db"), Listen: "127.0.0.1:0",
		HighLevel: run.HighLevel{BaseURL: tw.HighLevelURL(), Token: tw.PIT(), Location: tw.Location(), WebhookKey: string(pem)},
		M360:      run.M360{BaseURL: tw.M360URL(), ClientID: id, ClientSecret: secret},
		Flows:     engine.DefaultFlows(), Queue: engine.Config{PollInterval: 20 * time.Millisecond},
		Base: tw.Base(), Clock: tw.Clock(), Logger: slog.New(slog.DiscardHandler)}
}

// subscribe subscribes the twin's default app's webhooks to s.
func subscribe(t testing.TB, tw *twintest.Twin, s *run.Sync) {
	t.Helper()
	if status, body := tw.Admin(http.MethodPut, "/__admin/webhooks/highlevel/"+tw.App().ClientID,
		map[string]string{"url": s.URL() + receiver.PathHighLevel}); status != http.StatusOK {
		t.Fatalf("subscribe: %d %s", status, body)
	}
}

// hlClient is a HighLevel client of tw's location, as a person's.
func hlClient(t testing.TB, tw *twintest.Twin) *highlevelapi.ClientWithResponses {
	t.Helper()
	stack := transport.New(transport.Config{Auth: &transport.Bearer{Token: tw.PIT(), Location: tw.Location()},
		Specs: []*openapi.Spec{tw.HighLevelSpec()}, Strict: true, Clock: tw.Clock(), Base: tw.Base()})
	hl, err := highlevelapi.New(tw.HighLevelURL(), stack.Client())
	if err != nil {
		t.Fatal(err)
	}
	return hl
}

// createContacts creates n HighLevel contacts Grace<i> and returns their ids.
func createContacts(t testing.TB, tw *twintest.Twin, n int) []string {
	t.Helper()
	create := contactMaker(t, tw)
	var ids []string
	for i := range n {
		ids = append(ids, create(i))
	}
	return ids
}

// contactMaker returns a func that creates HighLevel contact Grace<i>
// (grace<i>@example.com) on tw and returns its id.
func contactMaker(t testing.TB, tw *twintest.Twin) func(i int) string {
	t.Helper()
	hl := hlClient(t, tw)
	return func(i int) string {
		first, email := fmt.Sprint("Grace", i), fmt.Sprintf("grace%d@example.com", i)
		res, err := highlevelapi.OK(hl.CreateContactWithResponse(context.Background(), &highlevelapi.CreateContactParams{Version: highlevelapi.CreateContactParamsVersionN20210728},
			highlevelapi.CreateContactDto{LocationId: tw.Location(), FirstName: &first, Email: &email}))
		if err != nil {
			t.Fatal(err)
		}
		return res.JSON201.Contact.Id
	}
}

// TestSync_ReconcileAloneWhenEveryWebhookIsLost: with the twin losing
// every webhook (webhooks.drop 1.0), the periodic reconcile alone brings
// Marketing 360 in line: each contact once, with its tasks and note.
func TestSync_ReconcileAloneWhenEveryWebhookIsLost(t *testing.T) {
	t.Parallel()
	tw := twintest.New(t, twintest.Options{Listen: true})
	s := startLossy(t, tw, syncConfig(t, tw))
	ids := createContacts(t, tw, 3)
	twintest.WaitFor(t, wait, func() bool {
		for _, id := range ids {
			if c := tw.Counterpart(id); c.Contacts != 1 || len(c.Tasks) != 3 || len(c.Notes) != 1 {
				return false
			}
		}
		return true
	})
	if n := s.Receiver().Counts().Received; n != 0 {
		t.Errorf("the receiver stored %d webhooks; the twin was to lose them all", n)
	}
	for _, id := range ids {
		if c := tw.Counterpart(id); c.Contacts != 1 || len(c.Tasks) != 3 || len(c.Notes) != 1 {
			t.Errorf("contact %s: %+v; want one contact, 3 tasks, 1 note", id, c)
		}
	}
}

// startLossy starts the sync of cfg on tw reconciling every second, with
// tw losing every webhook (webhooks.drop 1.0) it is subscribed to; the
// test's end closes it.
func startLossy(t *testing.T, tw *twintest.Twin, cfg run.Config) *run.Sync {
	t.Helper()
	cfg.ReconcileEvery = time.Second
	return startSync(t, tw, cfg, map[string]any{"drop": 1.0})
}

// startSync starts the sync of cfg on tw, subscribes tw's webhooks to it
// and puts tw's webhook settings (PUT /__admin/webhooks/settings); the
// test's end closes it.
func startSync(t *testing.T, tw *twintest.Twin, cfg run.Config, settings map[string]any) *run.Sync {
	t.Helper()
	s, err := run.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	subscribe(t, tw, s)
	if status, body := tw.Admin(http.MethodPut, "/__admin/webhooks/settings", settings); status != http.StatusOK {
		t.Fatalf("webhook settings: %d %s", status, body)
	}
	return s
}

// scrape returns the metrics at url.
func scrape(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %d %v", res.StatusCode, err)
	}
	return string(body)
}

// TestSync_WebhooksAfterTheWorkStoppedAreKept: once StopWork returns no job
// runs, yet the receiver still answers; a webhook that comes then (up's
// twins deliver the webhooks of the sync's last writes as they close) is
// stored with its job, and the next start works it.
func TestSync_WebhooksAfterTheWorkStoppedAreKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tw := twintest.New(t, twintest.Options{Listen: true})
	cfg := syncConfig(t, tw)
	s, err := run.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, tw, s)
	if err := s.StopWork(ctx); err != nil {
		t.Fatal(err)
	}
	ids := createContacts(t, tw, 1)
	twintest.WaitFor(t, wait, func() bool { return s.Receiver().Counts().JobsEnqueued >= 1 })
	if c := tw.Counterpart(ids[0]); c.Contacts != 0 {
		t.Errorf("a job ran after StopWork: %+v", c)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}

	s, err = run.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	twintest.WaitFor(t, wait, func() bool {
		c := tw.Counterpart(ids[0])
		return c.Contacts == 1 && len(c.Tasks) == 3 && len(c.Notes) == 1
	})
}
