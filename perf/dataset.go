package perf

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/mock/store"
)

// The data set is made of plausible contacts: names, company, address,
// E.164 phone, tags, the location's two custom fields, and per contact two
// tasks and two notes. Emails and phones are unique (the twin's default
// location refuses duplicates).

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Dennis",
		"Frances", "John", "Katherine", "Linus", "Hedy", "Tim", "Sophie", "Guido", "Anita", "Bjarne",
		"Carol", "Niklaus", "Joan", "Leslie", "Mary", "Robin", "Shafi", "Whitfield", "Yukihiro", "Lynn"}
	lastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman",
		"Ritchie", "Allen", "McCarthy", "Johnson", "Torvalds", "Lamarr", "Berners-Lee", "Wilson", "van Rossum",
		"Borg", "Stroustrup", "Shaw", "Wirth", "Clarke", "Lamport", "Keller", "Milner", "Goldwasser", "Diffie",
		"Matsumoto", "Conway"}
	companies = []string{"Analytical Engines", "Harbor Dental", "Bluebird Roofing", "Summit Realty", "Northwind Traders",
		"Cedar Yoga Studio", "Brightside Insurance", "Pioneer Auto Body", "Lakeside Law Group", "Acme Plumbing",
		"Evergreen Landscaping", "Maple Street Bakery", "Riverbend Chiropractic", "Urban Fitness", "Keystone HVAC"}
	places = []struct{ city, state, postal, area string }{
		{"Austin", "TX", "78701", "512"}, {"Denver", "CO", "80202", "303"}, {"Portland", "OR", "97201", "503"},
		{"Miami", "FL", "33101", "305"}, {"Chicago", "IL", "60601", "312"}, {"Seattle", "WA", "98101", "206"},
		{"Boston", "MA", "02108", "617"}, {"Phoenix", "AZ", "85004", "602"}, {"Nashville", "TN", "37201", "615"},
		{"San Diego", "CA", "92101", "619"}, {"Atlanta", "GA", "30303", "404"}, {"Columbus", "OH", "43215", "614"},
	}
	streets    = []string{"Main St", "Oak Ave", "Pine St", "Maple Dr", "Cedar Ln", "Elm St", "Lake Rd", "Hill St", "Park Ave", "2nd St"}
	timezones  = []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"}
	sources    = []string{"public api", "website form", "facebook lead ad", "referral", "import", "chat widget"}
	tagPool    = []string{"lead", "customer", "vip", "newsletter", "webinar", "trial", "churn-risk", "2025", "follow-up", "partner"}
	plans      = []string{"free", "starter", "pro", "enterprise"}
	taskTitles = []string{"Call back", "Send proposal", "Follow up on quote", "Book a demo", "Check in after onboarding",
		"Collect payment details", "Ask for a review", "Confirm appointment"}
	noteBodies = []string{
		"Spoke on the phone; interested in the pro plan, wants pricing for five seats.",
		"Left a voicemail, will try again next week.",
		"Asked for a callback after the holidays.",
		"Came in through the website form; prefers email over phone.",
		"Existing customer of the partner agency, warm introduction.",
		"Requested a quote for the spring season.",
		"Not the decision maker; the owner is back on Monday.",
		"Signed up for the webinar and attended the whole session.",
	}
)

// dataEpoch is where the data set's dates start: the year before the twin's
// frozen clock (2026-01-01).
var dataEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func genID(rng *rand.Rand) string {
	var b [20]byte
	for i := range b {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b[:])
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// genContact makes contact i of loc.
func genContact(rng *rand.Rand, loc store.Location, i int) store.Contact {
	first, last := pick(rng, firstNames), pick(rng, lastNames)
	place := pick(rng, places)
	company := pick(rng, companies)
	added := dataEpoch.Add(time.Duration(rng.Int64N(int64(364 * 24 * time.Hour)))).Truncate(time.Millisecond)
	c := store.Contact{
		ID:          genID(rng),
		LocationID:  loc.ID,
		FirstName:   first,
		LastName:    last,
		Name:        first + " " + last,
		Email:       strings.ToLower(strings.ReplaceAll(first+"."+last, " ", "")) + "." + strconv.Itoa(i) + "@example.com",
		Phone:       fmt.Sprintf("+1%s%07d", place.area, i%10_000_000),
		CompanyName: company,
		Address1:    strconv.Itoa(1+rng.IntN(9899)) + " " + pick(rng, streets),
		City:        place.city,
		State:       place.state,
		Country:     "US",
		PostalCode:  place.postal,
		Timezone:    pick(rng, timezones),
		Source:      pick(rng, sources),
		Type:        "lead",
		Tags:        []string{pick(rng, tagPool), pick(rng, tagPool)},
		DateAdded:   added,
		DateUpdated: added.Add(time.Duration(rng.IntN(72)) * time.Hour),
	}
	if c.Tags[0] == c.Tags[1] {
		c.Tags = c.Tags[:1]
	}
	if rng.IntN(4) == 0 {
		c.Type = "customer"
		c.Website = "https://www." + strings.ToLower(strings.ReplaceAll(company, " ", "")) + ".com"
	}
	if len(loc.CustomFields) >= 2 {
		c.CustomFields = []store.CustomFieldValue{
			{ID: loc.CustomFields[0].ID, Value: strconv.Itoa(rng.IntN(101))},
			{ID: loc.CustomFields[1].ID, Value: pick(rng, plans)},
		}
	}
	return c
}

// WriteState writes, as JSON in the format of store.State (what GET
// /__admin/state exports and `mock --state` loads), n contacts of the
// location loc with two tasks and two notes each, and returns the contacts'
// ids in order. The state names no location: the twin adds its own default
// location, which loc should be. The output depends only on loc, n and seed,
// and is streamed: memory does not grow with n beyond the ids.
func WriteState(w io.Writer, loc store.Location, n int, seed uint64) ([]string, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	rng := rand.New(rand.NewPCG(seed, 0x636f6e7461637473)) // "contacts"
	ids := make([]string, 0, n)
	added := make([]time.Time, 0, n)

	// Encoder errors stick in the bufio.Writer or come back from Encode;
	// write errors are checked at Flush.
	list := func(name string, first bool, count int, item func(i int) any) error {
		sep := ","
		if first {
			sep = "{"
		}
		if _, err := bw.WriteString(sep + `"` + name + `":[`); err != nil {
			return err
		}
		for i := range count {
			if i > 0 {
				if err := bw.WriteByte(','); err != nil {
					return err
				}
			}
			if err := enc.Encode(item(i)); err != nil {
				return err
			}
		}
		_, err := bw.WriteString("]")
		return err
	}
	if err := list("locations", true, 0, nil); err != nil {
		return nil, err
	}
	if err := list("contacts", false, n, func(i int) any {
		c := genContact(rng, loc, i)
		ids, added = append(ids, c.ID), append(added, c.DateAdded)
		return c
	}); err != nil {
		return nil, err
	}
	if err := list("tasks", false, 2*n, func(i int) any {
		ci := i / 2
		t := store.Task{
			ID: genID(rng), ContactID: ids[ci], Title: pick(rng, taskTitles),
			Body:      "Re: " + pick(rng, noteBodies),
			DueDate:   added[ci].Add(time.Duration(1+rng.IntN(30)) * 24 * time.Hour),
			Completed: rng.IntN(3) == 0,
			DateAdded: added[ci].Add(time.Duration(rng.IntN(3600)) * time.Second),
		}
		return t
	}); err != nil {
		return nil, err
	}
	if err := list("notes", false, 2*n, func(i int) any {
		ci := i / 2
		return store.Note{
			ID: genID(rng), ContactID: ids[ci], Body: pick(rng, noteBodies),
			DateAdded: added[ci].Add(time.Duration(rng.IntN(7*24*3600)) * time.Second),
		}
	}); err != nil {
		return nil, err
	}
	if err := list("appointments", false, 0, nil); err != nil {
		return nil, err
	}
	if _, err := bw.WriteString("}\n"); err != nil {
		return nil, err
	}
	return ids, bw.Flush()
}

// writeStateFile writes WriteState's output to path.
func writeStateFile(path string, loc store.Location, n int, seed uint64) ([]string, int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, 0, err
	}
	ids, err := WriteState(f, loc, n, seed)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, 0, fmt.Errorf("perf: state %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, 0, err
	}
	return ids, fi.Size(), nil
}
