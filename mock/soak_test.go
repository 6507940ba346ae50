package mock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// soakEnv names the duration of TestSoak (make soak sets it); unset, the
// test is skipped, so make test never runs it.
const soakEnv = "CONTACTBRIDGE_SOAK"

// soakMaxOps bounds the requests of one soak worker, whatever the duration.
const soakMaxOps = 50_000

// soakWorker is what one worker of the soak was told by the twins: the
// records it made, as the answers described them.
type soakWorker struct {
	contacts map[string]string   // HighLevel contact id -> its firstName
	tags     map[string][]string // HighLevel contact id -> tags added
	tasks    map[string][]string // HighLevel contact id -> task ids
	deleted  []string            // HighLevel contacts deleted
	m360     []int64             // Marketing 360 contacts
	notes    map[int64]int       // Marketing 360 contact -> notes made
	ops      int
	problems []string // unexpected answers
}

// TestSoak is a bounded mixed load on both twins on loopback, strict: for
// the duration in CONTACTBRIDGE_SOAK (or soakMaxOps requests per worker),
// workers create, update, tag, list, search and delete HighLevel contacts
// and tasks, create Marketing 360 contacts and notes, and read the admin
// journal. No answer may be unexpected (no 5xx, no refusal of a valid
// request), and at the end the exported state must hold what the answers
// said: every contact that was made and not deleted with its last name,
// tags and tasks, no deleted one, every Marketing 360 contact and note.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv(soakEnv))
	if err != nil || d <= 0 {
		t.Skipf("set %s to a duration to run the soak (make soak)", soakEnv)
	}
	srv := newListening(t, mock.Options{Strict: true})
	hl, m360 := srv.HighLevel.URL(), srv.M360.URL()
	loc := srv.Defaults().HighLevel.Location.ID
	key := srv.Defaults().M360.Key
	client := &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	// The workers' connections are closed before the twin shuts down: a
	// connection dialled at the end and never used counts as active for 5 s
	// to http.Server.Shutdown, which is as long as Close waits.
	t.Cleanup(client.CloseIdleConnections)
	deadline := time.Now().Add(d)

	send := func(w *soakWorker, method, url string, body any, want int, out any) bool {
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = bytes.NewReader(raw)
		}
		req, _ := http.NewRequest(method, url, rd)
		req.Header.Set("Content-Type", "application/json")
		if len(url) >= len(hl) && url[:len(hl)] == hl {
			req.Header.Set("Authorization", "Bearer "+srv.Defaults().HighLevel.Token)
			req.Header.Set("Version", "2021-07-28")
		} else {
			req.SetBasicAuth(key.ClientID, key.ClientSecret)
		}
		w.ops++
		res, err := client.Do(req)
		if err != nil {
			w.problems = append(w.problems, fmt.Sprintf("%s %s: %v", method, url, err))
			return false
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			w.problems = append(w.problems, fmt.Sprintf("%s %s: %d %.200s", method, url, res.StatusCode, raw))
			return false
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				w.problems = append(w.problems, fmt.Sprintf("%s %s: %v", method, url, err))
				return false
			}
		}
		return true
	}

	const workers = 4
	results := make([]*soakWorker, workers)
	var wg sync.WaitGroup
	for n := range workers {
		w := &soakWorker{contacts: map[string]string{}, tags: map[string][]string{}, tasks: map[string][]string{},
			notes: map[int64]int{}}
		results[n] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			var live []string // this worker's contacts, oldest first
			for i := 0; i < soakMaxOps && len(w.problems) == 0 && time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("w%d-%d", n, i)
				last := ""
				if len(live) > 0 {
					last = live[len(live)-1]
				}
				switch op := i % 10; {
				case op == 0 || last == "":
					var got struct{ Contact store.Contact }
					if send(w, "POST", hl+"/contacts/", map[string]any{"locationId": loc, "firstName": name,
						"email": name + "@soak.example"}, 201, &got) {
						w.contacts[got.Contact.ID] = name
						live = append(live, got.Contact.ID)
					}
				case op == 1:
					if send(w, "PUT", hl+"/contacts/"+last, map[string]any{"firstName": name}, 200, nil) {
						w.contacts[last] = name
					}
				case op == 2:
					if send(w, "POST", hl+"/contacts/"+last+"/tags", map[string]any{"tags": []string{"t" + name}}, 201, nil) {
						w.tags[last] = append(w.tags[last], "t"+name)
					}
				case op == 3:
					var got struct{ Task store.Task }
					if send(w, "POST", hl+"/contacts/"+last+"/tasks", map[string]any{"title": name,
						"dueDate": "2026-06-01T00:00:00Z", "completed": false}, 201, &got) {
						w.tasks[last] = append(w.tasks[last], got.Task.ID)
					}
				case op == 4:
					send(w, "GET", hl+"/contacts/?locationId="+loc+"&limit=10", nil, 200, nil)
				case op == 5:
					send(w, "POST", hl+"/contacts/search", map[string]any{"locationId": loc, "pageLimit": 10}, 200, nil)
				case op == 6 && i%30 == 6:
					if send(w, "DELETE", hl+"/contacts/"+last, nil, 200, nil) {
						w.deleted = append(w.deleted, last)
						live = live[:len(live)-1]
					}
				case op == 7:
					var got struct{ Result store.M360Contact }
					if send(w, "POST", m360+"/v1/contacts", map[string]any{"firstName": name, "email": name + "@m360.soak.example"}, 201, &got) {
						w.m360 = append(w.m360, got.Result.ID)
					}
				case op == 8 && len(w.m360) > 0:
					c := w.m360[len(w.m360)-1]
					if send(w, "POST", m360+"/v1/contacts/"+strconv.FormatInt(c, 10)+"/notes", map[string]any{"body": name}, 201, nil) {
						w.notes[c]++
					}
				default:
					send(w, "GET", hl+"/__admin/requests?limit=5", nil, 200, nil)
				}
			}
		}()
	}
	wg.Wait()

	var st store.State
	exporter := &soakWorker{}
	if !send(exporter, "GET", hl+"/__admin/state", nil, 200, &st) {
		t.Fatalf("export: %v", exporter.problems)
	}
	contacts := map[string]store.Contact{}
	for _, c := range st.Contacts {
		contacts[c.ID] = c
	}
	tasks := map[string]bool{}
	for _, task := range st.Tasks {
		tasks[task.ID] = true
	}
	m360Contacts := map[int64]bool{}
	for _, c := range st.M360Contacts {
		m360Contacts[c.ID] = true
	}
	m360Notes := map[int64]int{}
	for _, n := range st.M360Notes {
		m360Notes[n.ContactID]++
	}
	total := 0
	for n, w := range results {
		total += w.ops
		for _, p := range w.problems {
			t.Errorf("worker %d: unexpected answer: %s", n, p)
		}
		for _, id := range w.deleted {
			if _, ok := contacts[id]; ok {
				t.Errorf("contact %s was deleted, the state still has it", id)
			}
			delete(w.contacts, id)
		}
		for id, name := range w.contacts {
			c, ok := contacts[id]
			switch {
			case !ok:
				t.Errorf("contact %s was made, the state lacks it", id)
				continue
			case c.FirstName != name:
				t.Errorf("contact %s: firstName %q, the last answer said %q", id, c.FirstName, name)
			}
			for _, tag := range w.tags[id] {
				if !slices.Contains(c.Tags, tag) {
					t.Errorf("contact %s lacks tag %s", id, tag)
				}
			}
			for _, task := range w.tasks[id] {
				if !tasks[task] {
					t.Errorf("contact %s lacks task %s", id, task)
				}
			}
		}
		for _, id := range w.m360 {
			if !m360Contacts[id] {
				t.Errorf("Marketing 360 contact %d was made, the state lacks it", id)
			}
		}
		for id, want := range w.notes {
			if m360Notes[id] != want {
				t.Errorf("Marketing 360 contact %d has %d notes, %d were made", id, m360Notes[id], want)
			}
		}
	}
	t.Logf("soak: %d requests in %s, %d HighLevel and %d Marketing 360 contacts in the state", total, d,
		len(st.Contacts), len(st.M360Contacts))
}
