package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/internal/lockedbuf"
	"github.com/contactbridge/contactbridge/sync/state"
)

// upCurl reads a curl line of the up banner: its headers, basic auth
// (-u), data (-d) and URL.
var upCurl = regexp.MustCompile(`-H '([^']+)'|-u '([^:']+):([^']+)'|-d '([^']+)'|'(http[^']+)'`)

// curlLine turns one banner line into a request.
func curlLine(t *testing.T, line string) *http.Request {
	t.Helper()
	method, url, body := http.MethodGet, "", ""
	hdr := http.Header{}
	var user, pass string
	for _, m := range upCurl.FindAllStringSubmatch(line, -1) {
		switch {
		case m[1] != "":
			k, v, _ := strings.Cut(m[1], ": ")
			hdr.Set(k, v)
		case m[2] != "":
			user, pass = m[2], m[3]
		case m[4] != "":
			body = m[4]
		case m[5] != "":
			url = m[5]
		}
	}
	if strings.Contains(line, "-X POST") || body != "" { // curl -d posts
		method = http.MethodPost
	}
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("curl line %q: %v", line, err)
	}
	req.Header = hdr
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	return req
}

// upWait bounds every wait for what up does at once.
const upWait = 2 * time.Minute

// upRun is a `contactbridge up` running in the test.
type upRun struct {
	banner    []string // every line of the banner, trimmed
	curls     []string // the banner's curl lines, under "contactbridge up:"
	dashboard string
	cancel    context.CancelCauseFunc
	code      chan int
}

// startUp runs `contactbridge up` on free ports and database db, its log
// (at level) to stderr, and reads its banner.
func startUp(t *testing.T, db, level string, stderr io.Writer) *upRun {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	u := &upRun{cancel: cancel, code: make(chan int, 1)}
	t.Cleanup(func() { cancel(nil) })
	pr, pw := io.Pipe()
	go func() {
		u.code <- Main(ctx, []string{"up", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0",
			"--db", db, "--log-level", level}, pw, stderr)
		pw.Close()
	}()
	up := false
	sc := bufio.NewScanner(pr)
	for len(u.curls) < 3 && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		u.banner = append(u.banner, line)
		up = up || strings.HasPrefix(line, "contactbridge up:")
		if d, ok := strings.CutPrefix(line, "dashboard "); up && ok {
			u.dashboard = strings.TrimSpace(d)
		}
		if up && strings.HasPrefix(line, "curl ") {
			u.curls = append(u.curls, line)
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until the pipe closes
	if len(u.curls) != 3 {
		t.Fatalf("the banner has %d curl lines; want 3", len(u.curls))
	}
	return u
}

// createAndWait sends the banner's create-contact curl and waits until the
// Marketing 360 task list shows the contact's follow-up task.
func (u *upRun) createAndWait(t *testing.T) {
	t.Helper()
	if code := answerStatus(t, curlLine(t, u.curls[0])); code != http.StatusCreated {
		t.Fatalf("create contact: %d", code)
	}
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(upWait)
	for !hasTask(t, curlLine(t, u.curls[2]), "Follow up: Ada Lovelace") {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("no follow-up task in Marketing 360")
		}
	}
}

// interrupt stops up as Ctrl-C does and checks that it exits as the
// signal.
func (u *upRun) interrupt(t *testing.T) {
	t.Helper()
	u.cancel(interrupted{os.Interrupt})
	select {
	case c := <-u.code:
		if c != 130 {
			t.Errorf("exit status %d; want 130", c)
		}
	case <-time.After(upWait):
		t.Fatal("up did not stop")
	}
}

// TestUp_PrintedCurlsShowTheSyncAtWork runs `contactbridge up` on free
// ports; the printed curl creates a HighLevel contact, and the printed
// Marketing 360 curl soon lists its follow-up task; an interrupt stops all,
// exiting as the signal. The banner prints no curl that would take the
// default app's webhooks from the sync, and sync status on up's database
// shows the twins as its connections, not the config's.
func TestUp_PrintedCurlsShowTheSyncAtWork(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "sync.db")
	u := startUp(t, db, "error", io.Discard)
	if !strings.HasSuffix(u.dashboard, "/__admin/ui") {
		t.Errorf("up prints the dashboard as %q", u.dashboard)
	}
	receiver := ""
	for _, line := range u.banner {
		if strings.Contains(line, "/__admin/webhooks/highlevel/") {
			t.Errorf("the banner prints a curl that moves the sync's webhooks: %s", line)
		}
		if r, ok := strings.CutPrefix(line, "subscribe  "); ok {
			receiver, _, _ = strings.Cut(r, " ")
		}
	}
	if !strings.HasPrefix(receiver, "http://127.0.0.1:") || !strings.HasSuffix(receiver, "/webhooks/highlevel") {
		t.Errorf("the banner's subscribe line names %q, want the sync's receiver:\n%s", receiver, strings.Join(u.banner, "\n"))
	}
	u.createAndWait(t)
	checkSyncView(t, strings.TrimSuffix(u.dashboard, "/__admin/ui"))
	u.tryIt(t)
	u.interrupt(t)

	code, out, errs := runCode(t, "sync", "status", "--db", db, "--json")
	var status struct {
		Connections []statusConnection `json:"connections"`
		Cursors     []statusCursor     `json:"cursors"`
	}
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil {
		t.Fatalf("sync status: exit %d, %v\n%s%s", code, err, out, errs)
	}
	hl, m360 := curlLine(t, u.curls[0]).URL, curlLine(t, u.curls[1]).URL
	if len(status.Connections) != 2 || status.Connections[0].BaseURL != hl.Scheme+"://"+hl.Host ||
		status.Connections[0].Tenant == "" || status.Connections[1].BaseURL != m360.Scheme+"://"+m360.Host {
		t.Errorf("sync status on up's database shows the connections %+v; want the twins at %s and %s", status.Connections, hl.Host, m360.Host)
	}
	for _, c := range status.Cursors {
		if c.Stream == upConns {
			t.Errorf("sync status lists %s as a stream", upConns)
		}
	}
}

// tryIt sends the creates of the twins' "Try it" lines as printed, one
// after the other: the HighLevel contact, then, once the sync has made its
// Marketing 360 contact, the Marketing 360 one, which is another person
// (the same email would be a 409).
func (u *upRun) tryIt(t *testing.T) {
	t.Helper()
	var hl, m360 string
	for i := 0; i < len(u.banner); i++ {
		line := u.banner[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(u.banner) {
			i++
			line = strings.TrimSuffix(line, "\\") + u.banner[i]
		}
		switch {
		case !strings.HasPrefix(line, "curl ") || !strings.Contains(line, "-d '"):
		case strings.HasSuffix(line, "/contacts/'") && hl == "":
			hl = line
		case strings.HasSuffix(line, "/v1/contacts'") && m360 == "":
			m360 = line
		}
	}
	if hl == "" || m360 == "" {
		t.Fatalf("the banner lacks a Try it create of either twin:\n%s", strings.Join(u.banner, "\n"))
	}
	create := curlLine(t, hl)
	var person struct{ Email string }
	if err := json.NewDecoder(create.Body).Decode(&person); err != nil || person.Email == "" {
		t.Fatalf("the HighLevel Try it create sends no email: %s", hl)
	}
	if code := answerStatus(t, curlLine(t, hl)); code != http.StatusCreated {
		t.Fatalf("the HighLevel Try it create: %d", code)
	}
	counterpart := strings.Replace(u.curls[1], "email=ada.up@example.com", "email="+person.Email, 1)
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(upWait)
	for countM360(t, counterpart) == 0 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the sync made no Marketing 360 contact of %s", person.Email)
		}
	}
	for {
		switch code := answerStatus(t, curlLine(t, m360)); code {
		case http.StatusCreated:
			return
		case http.StatusTooManyRequests:
		default:
			t.Fatalf("the Marketing 360 Try it create after the HighLevel one: %d", code)
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the Marketing 360 Try it create answered 429 until the deadline")
		}
	}
}

// answerStatus sends req and returns the status of its answer.
func answerStatus(t *testing.T, req *http.Request) int {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestUp_RunAgainOnItsDatabase: up run again on the database of a run that
// changed the twins' data starts the database afresh (the twins start
// with their default data again) and runs quietly: no warning, no record
// gone, the printed curls the same and the contact's counterpart made
// once; run again on the database of a run that changed nothing, it
// resumes on it. A database up did not make is refused and left as it is.
func TestUp_RunAgainOnItsDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "sync.db")
	var first lockedbuf.Buffer
	u := startUp(t, db, "info", &first)
	u.createAndWait(t)
	u.interrupt(t)

	var second lockedbuf.Buffer
	again := startUp(t, db, "info", &second)
	if !slices.Equal(credentials(again.curls), credentials(u.curls)) {
		t.Errorf("the curls changed from one run to the next:\n%q\n%q", u.curls, again.curls)
	}
	again.createAndWait(t)
	counterpart := countM360(t, again.curls[1])
	again.interrupt(t)
	log := second.String()
	for _, bad := range []string{`"level":"WARN"`, `"level":"ERROR"`, "gone"} {
		if strings.Contains(log, bad) {
			t.Errorf("the second run logged %q:\n%s", bad, log)
		}
	}
	if !strings.Contains(log, "starting it afresh") {
		t.Errorf("the second run did not say it started the database afresh:\n%s", log)
	}
	if counterpart != 1 {
		t.Errorf("the second run's contact has %d Marketing 360 contacts; want 1", counterpart)
	}

	// A run that changes nothing leaves a database the next one resumes on.
	var quiet lockedbuf.Buffer
	startUp(t, db, "info", io.Discard).interrupt(t)
	startUp(t, db, "info", &quiet).interrupt(t)
	if !strings.Contains(quiet.String(), "resuming on it") {
		t.Errorf("a run after one that changed nothing did not resume:\n%s", quiet.String())
	}

	// sync run's database is not up's.
	other := filepath.Join(dir, "other.db")
	sdb, err := state.Open(context.Background(), other, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if code := Main(context.Background(), []string{"up", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0",
		"--listen", "127.0.0.1:0", "--db", other}, &out, &errs); code == 0 || !strings.Contains(errs.String(), "up did not make") {
		t.Errorf("up on a database it did not make: exit %d, %s", code, errs.String())
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("the database up did not make: %v", err)
	}
}

// credentials are the curl lines without their ports and times: the
// credentials, ids and bodies.
func credentials(curls []string) []string {
	out := make([]string, len(curls))
	for i, c := range curls {
		out[i] = portOrTime.ReplaceAllString(c, "")
	}
	return out
}

var portOrTime = regexp.MustCompile(`:\d+/|=\d+'`)

// countM360 is how many contacts the Marketing 360 list req asks for
// holds (retried while the twin answers 429).
func countM360(t *testing.T, line string) int {
	t.Helper()
	for range 100 {
		res, err := http.DefaultClient.Do(curlLine(t, line))
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Result []json.RawMessage `json:"result"`
		}
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		if res.StatusCode == http.StatusTooManyRequests {
			continue
		}
		if res.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("list contacts: %d %v", res.StatusCode, err)
		}
		return len(out.Result)
	}
	t.Fatal("the Marketing 360 twin answered 429 a hundred times")
	return 0
}

// hasTask tells whether the task list req asks for holds a task titled
// title; false when the twin answers 429.
func hasTask(t *testing.T, req *http.Request, title string) bool {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusTooManyRequests { // the twin's live limit: 5 a second per key
		return false
	}
	var out struct {
		Result []struct {
			Title string `json:"title"`
		} `json:"result"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("list tasks: %d", res.StatusCode)
	}
	for _, tk := range out.Result {
		if tk.Title == title {
			return true
		}
	}
	return false
}

// checkSyncView reads the dashboard's view of the sync on the HighLevel twin
// at base: its status holds the connections, the queue and the effects the
// sync made for the contact, and its differences are counted.
func checkSyncView(t *testing.T, base string) {
	t.Helper()
	var st struct {
		Connections   []statusConnection `json:"connections"`
		Queue         map[string]int     `json:"queue"`
		RecentEffects []statusEffect     `json:"recentEffects"`
	}
	// The task is in Marketing 360 a moment before the ledger says so: a
	// job's successes commit with its next write.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(upWait)
	for {
		getJSON(t, base+"/__admin/sync/status", &st)
		done := false
		for _, e := range st.RecentEffects {
			done = done || (e.Op == "create-task" && e.State == "done")
		}
		if done {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("no done create-task among the recent effects: %+v", st.RecentEffects)
		}
	}
	if len(st.Connections) != 2 || len(st.Queue) == 0 {
		t.Errorf("sync status: %+v", st)
	}
	var diffs struct {
		Total       *int             `json:"total"`
		Differences []viewDifference `json:"differences"`
	}
	getJSON(t, base+"/__admin/sync/differences", &diffs)
	if diffs.Total == nil || len(diffs.Differences) != min(*diffs.Total, differencesShown) {
		t.Errorf("sync differences: %+v", diffs)
	}
}

// getJSON decodes the 200 answer of a GET of url into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestUp_UserRuleActs follows the README's first rule as a new user would:
// rules/vip.yaml in the directory up runs from; a HighLevel contact from
// a webinar, then tagged vip, is entered into the Marketing 360 campaign
// once, and sync status counts the rule's action done.
func TestUp_UserRuleActs(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "rules", "vip.yaml"), readString(t, readmeRule))
	t.Chdir(dir)
	db := filepath.Join(dir, "sync.db")
	u := startUp(t, db, "error", io.Discard)

	m360 := curlLine(t, u.curls[2])
	triggers := func() int {
		req, err := http.NewRequest(http.MethodGet, m360.URL.Scheme+"://"+m360.URL.Host+"/v1/campaigns/1001/triggers", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = m360.Header.Clone()
		if user, pass, ok := m360.BasicAuth(); ok {
			req.SetBasicAuth(user, pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var list struct {
			Result []json.RawMessage `json:"result"`
		}
		if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&list) != nil {
			t.Fatalf("campaign triggers: %d", res.StatusCode)
		}
		return len(list.Result)
	}
	before := triggers() // the default data's

	create := curlLine(t, strings.Replace(u.curls[0], `"firstName"`, `"source":"webinar","firstName"`, 1))
	var created struct {
		Contact struct {
			ID string `json:"id"`
		} `json:"contact"`
	}
	res, err := http.DefaultClient.Do(create)
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusCreated || created.Contact.ID == "" {
		t.Fatalf("create contact: %d %v", res.StatusCode, err)
	}
	tag, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(create.URL.String(), "/")+"/"+created.Contact.ID+"/tags",
		strings.NewReader(`{"tags":["vip"]}`))
	if err != nil {
		t.Fatal(err)
	}
	tag.Header = create.Header.Clone()
	res, err = http.DefaultClient.Do(tag)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		t.Fatalf("add tag: %d", res.StatusCode)
	}

	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(upWait)
	for triggers() == before {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the rule did not trigger the campaign")
		}
	}
	if n := triggers() - before; n != 1 {
		t.Errorf("the rule entered %d contacts into the campaign; want 1", n)
	}
	u.interrupt(t)
	code, out, errs := runCode(t, "sync", "status", "--db", db, "--json")
	var status struct {
		Rules []struct {
			Rule                  string
			Done, Parked, Pending int
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &status); code != 0 || err != nil {
		t.Fatalf("sync status: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if len(status.Rules) != 1 || status.Rules[0].Rule != "vip-webinar-campaign" || status.Rules[0].Done != 1 ||
		status.Rules[0].Parked+status.Rules[0].Pending != 0 {
		t.Errorf("sync status counts the rules %+v; want vip-webinar-campaign done once", status.Rules)
	}
}
