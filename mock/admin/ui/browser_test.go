package ui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/admin/ui"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// chromium is Debian's browser, which .ci/run installs.
const chromium = "/usr/bin/chromium"

// browser returns a chromedp context on a headless chromium, or skips the
// test where there is none, except in CI, where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath(chromium); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but %s is missing: .ci/run installs it (apt-get install chromium)", chromium)
		}
		t.Skipf("no %s: install Debian's chromium (apt-get install chromium) to run the dashboard's browser test", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1000))
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// receiver takes webhook deliveries and hands over their bodies until done
// is closed.
type receiver struct {
	bodies chan map[string]any
	done   chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	select {
	case rc.bodies <- body:
	case <-rc.done:
	}
}

// next returns the next delivery's body of type event, skipping others.
func (rc *receiver) next(t *testing.T, ctx context.Context, event string) map[string]any {
	t.Helper()
	for {
		select {
		case b := <-rc.bodies:
			if b["type"] == event {
				return b
			}
		case <-ctx.Done():
			t.Fatalf("no %s delivery: %v", event, ctx.Err())
		}
	}
}

// repoRoot is the module's root, where .ci/artifacts lives.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		dir = filepath.Dir(dir)
	}
	t.Fatal("no go.mod above the test's directory")
	return ""
}

// poll waits in the page until the JavaScript expression is true, saying
// what it waited for when it never is.
func poll(what, expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))(ctx, t); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		return nil
	})
}

// js runs a JavaScript statement in the page.
func js(stmt string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[bool](stmt+"; true")(ctx, t)
		return err
	})
}

type css = chromedp.CSS

func TestDashboard_InABrowser(t *testing.T) {
	ctx := browser(t)
	rc := &receiver{bodies: make(chan map[string]any, 64), done: make(chan struct{})}
	hooks := httptest.NewServer(rc)
	defer hooks.Close()
	defer close(rc.done) // before the server waits for its handlers
	// More contacts than a page, loaded at start (no webhook events).
	pagers := func(loc store.Location, acct store.M360Account) (store.State, error) {
		clk := clock.NewManual(mock.SeededStart)
		st := store.New(clk, store.NewIDs(3))
		st.PutLocation(loc)
		st.PutM360Account(acct)
		for i := range 120 {
			clk.Advance(time.Second)
			if _, err := st.CreateContact(store.Contact{LocationID: loc.ID, FirstName: fmt.Sprintf("Pager %03d", i),
				Email: fmt.Sprintf("pager%03d@example.com", i)}); err != nil {
				return store.State{}, err
			}
		}
		return st.Snapshot(), nil
	}
	srv, err := mock.NewServer(mock.Options{Seed: 17, ClockMode: "real", Strict: true, Data: pagers,
		Webhooks: mock.WebhookOptions{URL: hooks.URL + "/hooks"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	d := srv.Defaults().HighLevel
	loc := d.Location.ID
	hl := func(method, path, body string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, srv.HighLevel.URL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+d.Token)
		req.Header.Set("Version", "2021-07-28")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	run("load the page", chromedp.Navigate(srv.HighLevel.URL()+ui.Path),
		poll("the live stream", `document.getElementById('requests-message').textContent.startsWith('Live')`))

	// A request through the API appears live, and opens.
	if got := hl(http.MethodPost, "/contacts/", `{"locationId":"`+loc+`","firstName":"Live","lastName":"Wire","email":"live.wire@example.com"}`); got != http.StatusCreated {
		t.Fatalf("create contact: %d", got)
	}
	if got := hl(http.MethodPost, "/contacts/", `{"locationId":"`+loc+`","email":"not-an-email"}`); got != http.StatusUnprocessableEntity {
		t.Fatalf("bad contact: %d", got)
	}
	const rowOf = `[...document.querySelectorAll('#requests tbody tr')].find(r => r.cells[5].textContent === 'create-contact' && r.cells[6].textContent === '%d')`
	run("see the requests live and open one",
		poll("the 201 row", fmt.Sprintf(rowOf, 201)+` !== undefined`),
		poll("the 422 row", fmt.Sprintf(rowOf, 422)+` !== undefined`))
	hint := text(`#requests tbody tr:first-child td:last-child`)
	run("open the request", js(fmt.Sprintf(rowOf, 201)+`.querySelector('button').click()`),
		poll("the request's detail", `(document.querySelector('#request-detail h3') || {}).textContent === '#1 POST /contacts/ → 201'`))
	detail, reqHeaders := text(`#response-body`), text(`#request-detail .grid2 pre`)
	if !strings.Contains(hint, "email must be an email") {
		t.Errorf("the 422's near miss: %q", hint)
	}
	if !strings.Contains(detail, `"email": "live.wire@example.com"`) {
		t.Errorf("the response body: %q", detail)
	}
	if !strings.Contains(reqHeaders, "Authorization: Bearer [redacted]") || strings.Contains(reqHeaders, d.Token) {
		t.Errorf("the request headers are not redacted: %q", reqHeaders)
	}

	// Tabs answer the keyboard.
	run("move along the tabs with the arrow keys", chromedp.Focus(css(`#tab-requests`)), chromedp.KeyEvent(kb.ArrowRight),
		poll("the State tab", `document.getElementById('tab-state').getAttribute('aria-selected') === 'true' && document.activeElement.id === 'tab-state'`))

	// Page through the contacts: 121, newest first.
	total := srv.Store().CountContacts(loc)
	run("the first page of contacts",
		poll("the first page", fmt.Sprintf(`document.getElementById('contacts-range').textContent === '1–25 of %d'`, total)))
	first := text(`#contacts tbody tr:first-child td`)
	run("the next page", chromedp.Click(css(`#contacts-next`)),
		poll("the second page", fmt.Sprintf(`document.getElementById('contacts-range').textContent === '26–50 of %d'`, total)))
	second := text(`#contacts tbody tr:first-child td`)
	run("search", chromedp.SetValue(css(`#contact-search input[name=query]`), "pager 00"),
		chromedp.Click(css(`#contact-search button`)),
		poll("the search", `document.getElementById('contacts-range').textContent === '1–10 of 10'`))
	if first != "Live Wire" || second != "Pager 095" {
		t.Errorf("pages start with %q and %q, want Live Wire and Pager 095", first, second)
	}

	// Add a fault from the form and see it hit.
	run("add a fault", chromedp.Click(css(`#tab-faults`)),
		chromedp.SetValue(css(`#fault-form input[name=operation]`), "get-contacts"),
		chromedp.SetValue(css(`#fault-form select[name=kind]`), "error"),
		chromedp.SetValue(css(`#fault-form input[name=status]`), "503"),
		chromedp.Click(css(`#fault-form button[type=submit]`)),
		poll("the rule", `[...document.querySelectorAll('#faults tbody td')].some(td => td.textContent === 'operation=get-contacts')`))
	if got := hl(http.MethodGet, "/contacts/?locationId="+loc+"&limit=1", ""); got != http.StatusServiceUnavailable {
		t.Fatalf("the fault did not fire: %d", got)
	}
	run("see it hit", poll("a hit", `document.querySelector('#faults .fault-hits').textContent === '1'`))

	// Redeliver the contact's webhook from the page.
	created := rc.next(t, ctx, "ContactCreate")
	row := fmt.Sprintf(`[...document.querySelectorAll('#deliveries tbody tr')].find(r => r.cells[3].textContent === 'contact/%s')`, created["id"])
	run("redeliver", chromedp.Click(css(`#tab-webhooks`)),
		poll("the delivery", row+` !== undefined`),
		js(row+`.querySelector('button').click()`),
		poll("the message", `document.getElementById('webhooks-message').textContent.startsWith('Queued')`))
	message := text(`#webhooks-message`)
	again := rc.next(t, ctx, "ContactCreate")
	if again["webhookId"] != created["webhookId"] || again["id"] != created["id"] {
		t.Errorf("redelivered %v %v, want the same webhookId %v and contact %v (%s)", again["webhookId"], again["id"],
			created["webhookId"], created["id"], message)
	}

	// The Sync tab says there is no sync, then shows the attached one's queue and differences.
	run("the Sync tab without a sync", chromedp.Click(css(`#tab-sync`)),
		poll("the message", `document.getElementById('sync-message').textContent === 'no sync is attached to this twin (run contactbridge up)'`))
	srv.AttachSync(fakeSync{})
	run("the Sync tab with a sync", chromedp.Click(css(`#sync-refresh`)),
		poll("the queue", `[...document.querySelectorAll('#sync-queue tbody tr')].some(r => r.cells[0].textContent === 'converge/available' && r.cells[1].textContent === '3')`),
		poll("an effect", `[...document.querySelectorAll('#sync-effects tbody tr')].some(r => r.cells[0].textContent === 'follow-up-task' && r.cells[4].textContent === 'done')`),
		chromedp.Click(css(`#sync-compare`)),
		poll("a difference", `[...document.querySelectorAll('#sync-differences tbody tr')].some(r => r.cells[0].textContent === 'hl-1' && r.cells[3].textContent === 'missing in Marketing 360')`))
	if got := text(`#sync-diff-count`); got != "1 difference." {
		t.Errorf("the differences' count: %q", got)
	}
	screenshot(t, ctx, "dashboard-sync.png")

	run("back to the requests", chromedp.Click(css(`#tab-requests`)))
	screenshot(t, ctx, "dashboard.png")
}

// screenshot keeps the page's screenshot under .ci/artifacts as name.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join(repoRoot(t), ".ci", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("the screenshot is no PNG (%d bytes)", len(shot))
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeSync is a sync as the Sync panel reads it (the shapes contactbridge
// up answers: cmd/contactbridge/syncview.go), with three jobs waiting, one
// effect done and one difference.
type fakeSync struct{}

func (fakeSync) Status(context.Context) (any, error) {
	return map[string]any{
		"connections": []map[string]string{{"api": "highlevel", "tenant": "loc-1", "auth": "token", "baseURL": "http://127.0.0.1:1"},
			{"api": "m360", "tenant": "key-1", "auth": "api key", "baseURL": "http://127.0.0.1:2"}},
		"queue":      map[string]int{"converge/available": 3, "converge/completed": 7},
		"lagSeconds": 1.5, "lastEvent": "2026-01-01T09:00:00Z",
		"inbox": map[string]int{"hl-webhook/done": 7}, "effects": map[string]int{"done": 1}, "mappings": map[string]int{"contact": 7},
		"cursors": []any{}, "lastErrors": []any{},
		"recentEffects": []map[string]any{{"flow": "follow-up-task", "key": "follow-up-task:hl-1", "op": "create-task", "target": "m360",
			"state": "done", "attempts": 1, "updatedAt": "2026-01-01T09:00:01Z"}},
	}, nil
}

func (fakeSync) Differences(context.Context) (any, error) {
	return map[string]any{"total": 1, "differences": []map[string]any{{"hlId": "hl-1", "name": "Ada Lovelace", "m360Ids": []string{},
		"problem": "missing in Marketing 360", "repairable": true}}}, nil
}
