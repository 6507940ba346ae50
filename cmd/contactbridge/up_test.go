package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
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
	if strings.Contains(line, "-X POST") {
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

// TestUp_PrintedCurlsShowTheSyncAtWork runs `contactbridge up` on free
// ports; the printed curl creates a HighLevel contact, and the printed
// Marketing 360 curl soon lists its follow-up task; an interrupt stops all,
// exiting as the signal.
func TestUp_PrintedCurlsShowTheSyncAtWork(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	pr, pw := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"up", "--addr", "127.0.0.1:0", "--m360-addr", "127.0.0.1:0", "--listen", "127.0.0.1:0",
			"--db", filepath.Join(t.TempDir(), "sync.db"), "--log-level", "error"}, pw, io.Discard)
		pw.Close()
	}()
	// The curl lines after the twins' banner, under "contactbridge up:".
	var curls []string
	var dashboard string
	up := false
	sc := bufio.NewScanner(pr)
	for len(curls) < 3 && sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		up = up || strings.HasPrefix(line, "contactbridge up:")
		if d, ok := strings.CutPrefix(line, "dashboard "); up && ok {
			dashboard = strings.TrimSpace(d)
		}
		if up && strings.HasPrefix(line, "curl ") {
			curls = append(curls, line)
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until the pipe closes
	if len(curls) != 3 {
		t.Fatalf("the banner has %d curl lines; want 3", len(curls))
	}
	if !strings.HasSuffix(dashboard, "/__admin/ui") {
		t.Errorf("up prints the dashboard as %q", dashboard)
	}
	res, err := http.DefaultClient.Do(curlLine(t, curls[0]))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create contact: %d", res.StatusCode)
	}

	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !hasTask(t, curlLine(t, curls[2]), "Follow up: Ada Lovelace") {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("no follow-up task in Marketing 360")
		}
	}
	checkSyncView(t, strings.TrimSuffix(dashboard, "/__admin/ui"))
	cancel(interrupted{os.Interrupt})
	select {
	case c := <-code:
		if c != 130 {
			t.Errorf("exit status %d; want 130", c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("up did not stop")
	}
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
	getJSON(t, base+"/__admin/sync/status", &st)
	if len(st.Connections) != 2 || len(st.Queue) == 0 {
		t.Errorf("sync status: %+v", st)
	}
	done := false
	for _, e := range st.RecentEffects {
		done = done || (e.Op == "create-task" && e.State == "done")
	}
	if !done {
		t.Errorf("no done create-task among the recent effects: %+v", st.RecentEffects)
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
