package admin

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/journal"
	"github.com/contactbridge/contactbridge/mock/pipeline"
	"github.com/contactbridge/contactbridge/mock/store"
)

// Records is what the dashboard's state browser needs of the state.
type Records interface {
	Locations() []store.Location
	CountContacts(location string) int
	// ScanContacts calls fn with each contact of location, newest first,
	// until it returns false; fn must copy what it keeps.
	ScanContacts(location string, fn func(*store.Contact) bool)
	Contact(id string) (store.Contact, error)
	Tasks(contact string) ([]store.Task, error)
	Notes(contact string) ([]store.Note, error)
	Appointments(contact string) ([]store.Appointment, error)

	M360Accounts() []store.M360Account
	M360Contacts(account int64, f store.M360ContactFilter) ([]store.M360Contact, int, error)
	M360Contact(account, id int64) (store.M360Contact, error)
	M360Tasks(account int64, f store.M360TaskFilter) ([]store.M360Task, int, error)
	M360Notes(account int64, f store.M360NoteFilter) ([]store.M360Note, int, error)
	M360Events(account int64, f store.M360EventFilter) ([]store.M360Event, int, error)
	M360Campaigns(account int64, p store.M360Paging) ([]store.M360Campaign, int, error)
	M360Triggers(account, campaign int64, p store.M360Paging) ([]store.M360Trigger, int, error)
}

// defaultPage is how many contacts a page of the state browser holds.
const defaultPage = 25

type locationSize struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Contacts int    `json:"contacts"`
}

type accountName struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

func (a *API) stateOverview(*pipeline.Request) (pipeline.Response, error) {
	locs := []locationSize{}
	for _, l := range a.Records.Locations() {
		locs = append(locs, locationSize{ID: l.ID, Name: l.Name, Contacts: a.Records.CountContacts(l.ID)})
	}
	accts := []accountName{}
	for _, acct := range a.Records.M360Accounts() {
		accts = append(accts, accountName{ID: acct.ID, Name: acct.Name})
	}
	return ok(map[string]any{"locations": locs, "m360Accounts": accts})
}

// paging reads offset and limit (validated by the spec).
func paging(r *pipeline.Request) (offset, limit int) {
	offset, _ = strconv.Atoi(r.Query.Get("offset"))
	limit = defaultPage
	if l := r.Query.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
	}
	return offset, limit
}

// contactMatches tells whether part of c's name, email or phone is query
// (lower case); digits of a phone match whatever its punctuation.
func contactMatches(c *store.Contact, query string) bool {
	for _, s := range []string{c.FirstName + " " + c.LastName, c.Name, c.Email} {
		if strings.Contains(strings.ToLower(s), query) {
			return true
		}
	}
	// A query of a phone number's characters only matches its digits.
	if strings.Trim(query, "0123456789+-(). ") != "" {
		return false
	}
	q := phonePunctuation.Replace(query)
	return len(q) >= 3 && strings.Contains(phonePunctuation.Replace(c.Phone), q)
}

// phonePunctuation drops what phone numbers are written with besides digits.
var phonePunctuation = strings.NewReplacer("+", "", "-", "", "(", "", ")", "", ".", "", " ", "")

func (a *API) browseContacts(r *pipeline.Request) (pipeline.Response, error) {
	loc := r.Query.Get("locationId")
	if _, err := a.Store.Location(loc); err != nil {
		return pipeline.Response{}, err
	}
	offset, limit := paging(r)
	query := strings.ToLower(strings.TrimSpace(r.Query.Get("query")))
	page := []store.Contact{}
	total := 0
	a.Records.ScanContacts(loc, func(c *store.Contact) bool {
		if query != "" && !contactMatches(c, query) {
			return true
		}
		if total >= offset && len(page) < limit {
			page = append(page, store.CloneContact(c))
		}
		total++
		// Without a query the count is known: stop at the page's end.
		return query != "" || len(page) < limit
	})
	if query == "" {
		total = a.Records.CountContacts(loc)
	}
	return ok(map[string]any{"contacts": page, "total": total, "offset": offset})
}

// orEmpty returns list, or an empty list for nil (JSON [] rather than null).
func orEmpty[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

func (a *API) browseContact(r *pipeline.Request) (pipeline.Response, error) {
	id := r.Path["id"]
	c, err := a.Records.Contact(id)
	if err != nil {
		return pipeline.Response{}, err
	}
	tasks, err := a.Records.Tasks(id)
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("tasks of %s: %w", id, err)
	}
	notes, err := a.Records.Notes(id)
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("notes of %s: %w", id, err)
	}
	appts, err := a.Records.Appointments(id)
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("appointments of %s: %w", id, err)
	}
	return ok(map[string]any{"contact": c, "tasks": orEmpty(tasks), "notes": orEmpty(notes), "appointments": orEmpty(appts)})
}

// m360Account reads the account of the path and fails unless it exists.
func (a *API) m360Account(r *pipeline.Request) (int64, error) {
	id, _ := strconv.ParseInt(r.Path["accountId"], 10, 64) // validated by the spec
	if !a.M360AccountExists(id) {
		return 0, &pipeline.Error{Status: http.StatusNotFound, Messages: []string{fmt.Sprintf("no Marketing 360 account %d", id)}}
	}
	return id, nil
}

func (a *API) browseM360Contacts(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := a.m360Account(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	offset, limit := paging(r)
	// Marketing 360 pages by number: the offset rounds down to a page.
	p := store.M360Paging{Page: offset/limit + 1, PageSize: limit}
	list, total, err := a.Records.M360Contacts(acct, store.M360ContactFilter{M360Paging: p})
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("contacts of account %d: %w", acct, err)
	}
	return ok(map[string]any{"contacts": orEmpty(list), "total": total, "offset": (p.Page - 1) * limit})
}

// maxChildren is the most of each kind of record the browser shows of a
// Marketing 360 contact.
const maxChildren = 500

func (a *API) browseM360Contact(r *pipeline.Request) (pipeline.Response, error) {
	acct, err := a.m360Account(r)
	if err != nil {
		return pipeline.Response{}, err
	}
	id, _ := strconv.ParseInt(r.Path["id"], 10, 64) // validated by the spec
	c, err := a.Records.M360Contact(acct, id)
	if err != nil {
		return pipeline.Response{}, err
	}
	all := store.M360Paging{Page: 1, PageSize: maxChildren}
	tasks, _, err := a.Records.M360Tasks(acct, store.M360TaskFilter{M360Paging: all, ContactID: id})
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("tasks of %d: %w", id, err)
	}
	notes, _, err := a.Records.M360Notes(acct, store.M360NoteFilter{M360Paging: all, ContactID: id})
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("notes of %d: %w", id, err)
	}
	events, _, err := a.Records.M360Events(acct, store.M360EventFilter{M360Paging: all, ContactID: id})
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("events of %d: %w", id, err)
	}
	campaigns, _, err := a.Records.M360Campaigns(acct, all)
	if err != nil {
		return pipeline.Response{}, fmt.Errorf("campaigns of account %d: %w", acct, err)
	}
	triggers := []store.M360Trigger{}
	for _, camp := range campaigns {
		list, _, err := a.Records.M360Triggers(acct, camp.ID, store.M360Paging{Page: 1, PageSize: maxChildren})
		if err != nil {
			return pipeline.Response{}, fmt.Errorf("triggers of campaign %d: %w", camp.ID, err)
		}
		for _, t := range list {
			if t.ContactID == id {
				triggers = append(triggers, t)
			}
		}
	}
	return ok(map[string]any{"contact": c, "tasks": orEmpty(tasks), "notes": orEmpty(notes),
		"events": orEmpty(events), "triggers": triggers})
}

// The chart's size, in SVG units.
const (
	chartWidth  = 240
	chartHeight = 48
)

// limitsChart draws, per minute of the clock, the requests of a location
// (or Marketing 360 account) in the journal, and the 429s among them.
func (a *API) limitsChart(r *pipeline.Request) (pipeline.Response, error) {
	loc := r.Query.Get("location")
	minutes := 15
	if m := r.Query.Get("minutes"); m != "" {
		minutes, _ = strconv.Atoi(m) // validated by the spec
	}
	end := a.Clock.Now().Truncate(time.Minute).Add(time.Minute)
	// counts[i] is how many entries are at or after the start of minute i.
	all := make([]int, minutes+1)
	limited := make([]int, minutes+1)
	for i := range minutes { // all[minutes] stays 0: nothing is after the end
		since := end.Add(time.Duration(i-minutes) * time.Minute)
		all[i] = a.Journal.Count(journal.Filter{Location: loc, Since: since})
		limited[i] = a.Journal.Count(journal.Filter{Location: loc, Since: since, Status: http.StatusTooManyRequests})
	}
	perMinute := func(c []int, i int) int { return c[i] - c[i+1] }
	peak := 1
	for i := range minutes {
		peak = max(peak, perMinute(all, i))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">`,
		chartWidth, chartHeight, chartWidth, chartHeight)
	total, total429 := all[0], limited[0]
	fmt.Fprintf(&b, `<title>%d requests, %d answered 429, in the last %d minutes (peak %d a minute)</title>`,
		total, total429, minutes, peak)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#f4f6f8"/>`, chartWidth, chartHeight)
	bar := float64(chartWidth) / float64(minutes)
	for i := range minutes {
		x := float64(i) * bar
		for _, s := range []struct {
			n    int
			fill string
		}{{perMinute(all, i), "#1f6feb"}, {perMinute(limited, i), "#b42318"}} {
			if s.n == 0 {
				continue
			}
			h := float64(s.n) / float64(peak) * (chartHeight - 2)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`,
				x+0.5, chartHeight-h, bar-1, h, s.fill)
		}
	}
	b.WriteString(`</svg>`)
	return ok(pipeline.Raw{ContentType: "image/svg+xml", Data: []byte(b.String())})
}
