package mock

import (
	"bufio"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"strconv"

	"github.com/contactbridge/contactbridge/internal/uuid"
	"github.com/contactbridge/contactbridge/mock/auth"
	"github.com/contactbridge/contactbridge/mock/gctune"
	"github.com/contactbridge/contactbridge/mock/store"
)

// seedData makes the start-up state: the default location, app and token,
// and the configured locations, apps and tokens. It is what reset returns to.
// When the state file lacks the made default location, the default token
// and app are for its busiest location instead (as for accounts: seedM360).
// It reports whether the state file was large.
func (s *Server) seedData(ids *store.IDs) (large bool, err error) {
	// The state file decoding since start hands over its locations and
	// contacts as soon as they are decoded: they restore (BeginRestore)
	// while its other tables decode. Without them (a file that is at fault
	// by then), or when there is no decoding under way, the whole file is
	// read first.
	var file decodedState
	part, early := store.State{}, s.early
	s.early = nil
	if early != nil {
		var ok bool
		if part, ok = <-early.part; !ok {
			file, early = <-early.done, nil
		}
	} else {
		file = s.readStateFile()
	}
	if early == nil {
		if file.err != nil {
			return false, file.err
		}
		part = file.st
	}
	hl := &s.defaults.HighLevel
	hl.Location = defaultLocation(ids)
	owners := make([]string, len(part.Contacts))
	for i, c := range part.Contacts {
		owners[i] = c.LocationID
	}
	if l, ok := busiest(part.Locations, func(l store.Location) string { return l.ID }, owners, hl.Location.ID); ok {
		hl.Location = l
	}
	s.store.PutLocation(hl.Location)
	for _, l := range s.opts.HighLevel.Locations {
		if l.ID == "" {
			return false, fmt.Errorf("mock: a configured location has no id")
		}
		s.store.PutLocation(l)
	}
	hl.Token = "pit-" + uuid.Format(ids.Token(32))
	hl.App = auth.App{
		ClientID:     ids.ObjectID() + "-" + ids.Token(8),
		ClientSecret: uuid.Format(ids.Token(32)),
		Name:         "Contactbridge Dev App",
		RedirectURIs: []string{"http://127.0.0.1:8080/oauth/callback", "http://localhost:8080/oauth/callback"},
		Scopes:       SpecScopes(s.HighLevel.spec),
		Location:     hl.Location.ID,
	}
	if u := s.opts.Webhooks.URL; u != "" {
		if err := s.self.Check(u); err != nil {
			return false, fmt.Errorf("mock: webhooks.url %q: %w", u, err)
		}
		hl.App.WebhookURL = u
	}
	apps := append([]auth.App{hl.App}, s.opts.HighLevel.Apps...)
	for _, a := range apps {
		if a.ClientID == "" || a.ClientSecret == "" {
			return false, fmt.Errorf("mock: a configured app needs clientId and clientSecret")
		}
		if err := checkWebhookApp(a, s.HighLevel.spec, s.self); err != nil {
			return false, fmt.Errorf("mock: %w", err)
		}
		s.store.SetWebhook(store.Webhook{ClientID: a.ClientID, URL: a.WebhookURL, Events: a.WebhookEvents})
		s.tokens.PutApp(a)
	}
	life := auth.DefaultLifetimes()
	ao := s.opts.HighLevel.Auth
	if d := ao.AccessTokenTTL.Std(); d > 0 {
		life.Access = d
	}
	if d := ao.RefreshTokenTTL.Std(); d > 0 {
		life.Refresh = d
	}
	life.RefreshGrace = ao.RefreshGrace.Std()
	s.tokens.SetLifetimes(life)
	var restoring *store.Restoring
	if early != nil {
		// The store holds the start-up state's locations already (the
		// Marketing 360 ones are seedM360's), and no contacts: with the
		// file's, they are the start-up state's (startState) unless
		// generated data adds to them, or the file names them again.
		if s.opts.Data == nil {
			restoring = s.store.BeginRestore(overlay(s.store.Snapshot(), part))
			defer restoring.Abandon()
		}
		if file = <-early.done; file.err != nil {
			return false, file.err
		}
		if restoring != nil && (len(file.st.Locations) != len(part.Locations) || len(file.st.Contacts) != len(part.Contacts)) {
			restoring.Abandon()
			restoring = nil
		}
	}
	if err := s.seedM360(ids, file.st); err != nil {
		return false, err
	}
	// The start-up state without the state file: reset reads the file again
	// rather than keep a second copy of a large state in memory.
	s.initial = s.store.Snapshot()
	if large, err = s.loadStart(file, restoring); err != nil {
		return false, err
	}
	keys, err := s.staticKeys()
	if err != nil {
		return false, err
	}
	tokens, err := s.staticTokens()
	if err != nil {
		return false, err
	}
	s.keys.Reset(keys)
	s.tokens.Reset(tokens)
	return large, nil
}

// seedM360 makes the default Marketing 360 account, its campaigns and key;
// when the state file has accounts (they replace the made ones), the key is
// for the busiest of them, unless the file has the made one.
func (s *Server) seedM360(ids *store.IDs, file store.State) error {
	m := &s.defaults.M360
	m.Account = s.store.PutM360Account(store.M360Account{Name: "Contactbridge Demo (Marketing 360)", Timezone: "America/Denver"})
	for _, c := range []store.M360Campaign{
		{Name: "Welcome series", Status: store.M360CampaignActive},
		{Name: "Re-engagement", Status: store.M360CampaignActive},
		{Name: "Holiday promotion", Status: store.M360CampaignPaused},
	} {
		c.AccountID = m.Account.ID
		if _, err := s.store.PutM360Campaign(c); err != nil {
			return fmt.Errorf("mock: seed campaigns: %w", err)
		}
	}
	owners := make([]int64, len(file.M360Contacts))
	for i, c := range file.M360Contacts {
		owners[i] = c.AccountID
	}
	if a, ok := busiest(file.M360Accounts, func(a store.M360Account) int64 { return a.ID }, owners, m.Account.ID); ok {
		m.Account = a
	}
	m.Key = APIKey{ClientID: "m360_" + ids.Token(16), ClientSecret: ids.Token(32),
		AccountID: m.Account.ID, Permissions: SpecScopes(s.M360.spec)}
	return nil
}

// staticKeys lists the default and the configured Marketing 360 keys.
func (s *Server) staticKeys() ([]auth.KeyEntry, error) {
	keys := []APIKey{s.defaults.M360.Key}
	for _, k := range s.opts.M360.Keys {
		if k.ClientID == "" || k.ClientSecret == "" {
			return nil, fmt.Errorf("mock: a configured Marketing 360 key needs clientId and clientSecret")
		}
		if k.AccountID == 0 {
			k.AccountID = s.defaults.M360.Account.ID
		}
		keys = append(keys, k)
	}
	out := make([]auth.KeyEntry, 0, len(keys))
	for _, k := range keys {
		out = append(out, auth.KeyEntry{ClientID: k.ClientID, Secret: k.ClientSecret,
			Principal: auth.Principal{LocationID: strconv.FormatInt(k.AccountID, 10), Scopes: k.Permissions}})
	}
	return out, nil
}

// startState is the start-up state: the defaults, with the state file and
// the generated data laid over them when given. It reports whether it came
// from a large file, whose decoding garbage is worth returning to the OS
// after a reset.
func (s *Server) startState(file decodedState) (store.State, bool, error) {
	st, large := s.initial, false
	if s.opts.StateFile != "" {
		st, large = overlay(st, file.st), file.size > largeStateBytes
	}
	if s.opts.Data != nil {
		data, err := s.opts.Data(s.defaults.HighLevel.Location, s.defaults.M360.Account)
		if err != nil {
			return st, false, fmt.Errorf("mock: data: %w", err)
		}
		st = overlay(st, data)
	}
	return st, large, nil
}

// loadStart makes the store hold the start-up state, in one step, with the
// state file read by readStateFile, and reports whether the file was large.
// restoring, when not nil, is the start-up state's restore, its locations
// and contacts begun (seedData); it finishes it.
func (s *Server) loadStart(file decodedState, restoring *store.Restoring) (large bool, err error) {
	st, large, err := s.startState(file)
	if err != nil {
		return false, err
	}
	if restoring != nil {
		err = restoring.Finish(st)
	} else {
		err = s.store.Restore(st)
	}
	if err != nil {
		return false, fmt.Errorf("mock: start-up state: %w", err)
	}
	return large, nil
}

// largeStateBytes is the size past which a state file is large: its
// decoding garbage is returned to the OS after a reset (NewServer returns
// all its start-up's), and the collector's tuner, when the process runs one, paces its load
// (gctune.LoadLarge; measured side by side at 100,000 contacts and 400,000
// tasks and notes, a 163 MB file, NewServer with GOGC=100 and at 400:
// 3.55-3.74 s -> 2.82-3.18 s, load 7 on 2 cores).
const largeStateBytes = 32 << 20

// paceLargeLoad tells the tuner (gctune) that the state file at path loads,
// when it is large, and returns what ends that.
func paceLargeLoad(path string) (done func()) {
	if path == "" {
		return func() {}
	}
	info, err := os.Stat(path)
	if err != nil || info.Size() <= largeStateBytes {
		return func() {}
	}
	return gctune.LoadLarge(info.Size())
}

// readStateFile is the state file, read again and decoded (zero without
// one).
func (s *Server) readStateFile() decodedState {
	if s.opts.StateFile == "" {
		return decodedState{}
	}
	return decodeStateFile(s.opts.StateFile, nil)
}

// busiest is the item with the most contacts (owners holds each contact's
// owner; the first item on a tie), for the default credentials; none when
// there are no items, or one of them is keep.
func busiest[T any, K comparable](items []T, id func(T) K, owners []K, keep K) (T, bool) {
	count := map[K]int{}
	for _, o := range owners {
		count[o]++
	}
	var best T
	for i, it := range items {
		if id(it) == keep {
			var none T
			return none, false
		}
		if i == 0 || count[id(it)] > count[id(best)] {
			best = it
		}
	}
	return best, len(items) > 0
}

// decodedState is a state file, decoded.
type decodedState struct {
	st   store.State
	size int64
	err  error
}

// earlyState is the state file decoding since start-up, in a goroutine of
// its own that ends on its own (the channels hold what it sends): part has
// the file's locations and contacts once they are decoded, unless the file
// is at fault by then (store.DecodeStateThen), and is closed when the
// decoding ends, whose result done then has.
type earlyState struct {
	part chan store.State
	done chan decodedState
}

// decodeEarly starts decoding the state file at path.
func decodeEarly(path string) *earlyState {
	e := &earlyState{part: make(chan store.State, 1), done: make(chan decodedState, 1)}
	go func() {
		d := decodeStateFile(path, func(st store.State) { e.part <- st })
		close(e.part)
		e.done <- d
	}()
	return e
}

// decodeStateFile decodes the state file at path, handing ready (when not
// nil) its locations and contacts as store.DecodeStateThen does.
func decodeStateFile(path string, ready func(store.State)) decodedState {
	f, err := os.Open(path)
	if err != nil {
		return decodedState{err: fmt.Errorf("mock: state: %w", err)}
	}
	defer f.Close()
	st, err := store.DecodeStateThen(bufio.NewReaderSize(f, 1<<20), nil, ready)
	if err != nil {
		return decodedState{err: fmt.Errorf("mock: state %s: %w", path, err)}
	}
	d := decodedState{st: st}
	if info, err := f.Stat(); err == nil {
		d.size = info.Size()
	}
	return d
}

// overlay lays top over base: locations merge by id and HighLevel webhook
// subscriptions by app (top wins), and the records of both are kept; but
// when top has Marketing 360 accounts of its own (an exported state has the
// default one too), its Marketing 360 tables replace base's.
func overlay(base, top store.State) store.State {
	out := top
	out.Locations = mergeBy(base.Locations, top.Locations, func(l store.Location) string { return l.ID })
	out.Webhooks = mergeBy(base.Webhooks, top.Webhooks, func(w store.Webhook) string { return w.ClientID })
	out.Contacts = concat(base.Contacts, top.Contacts)
	out.Tasks = concat(base.Tasks, top.Tasks)
	out.Notes = concat(base.Notes, top.Notes)
	out.Appointments = concat(base.Appointments, top.Appointments)
	if len(top.M360Accounts) == 0 {
		out.M360Accounts = base.M360Accounts
		out.M360Campaigns = concat(base.M360Campaigns, top.M360Campaigns)
		out.M360Contacts = concat(base.M360Contacts, top.M360Contacts)
		out.M360Tasks = concat(base.M360Tasks, top.M360Tasks)
		out.M360Notes = concat(base.M360Notes, top.M360Notes)
		out.M360Events = concat(base.M360Events, top.M360Events)
		out.M360Triggers = concat(base.M360Triggers, top.M360Triggers)
		out.M360Webhooks = concat(base.M360Webhooks, top.M360Webhooks)
	}
	return out
}

// concat is base's items, then top's: top itself when base has none, as it
// has none of a large state file's records, which are then not copied.
func concat[T any](base, top []T) []T {
	if len(base) == 0 {
		return top
	}
	return append(slices.Clip(base), top...)
}

// mergeBy is base's items whose key top lacks, then top's.
func mergeBy[T any](base, top []T, key func(T) string) []T {
	seen := map[string]bool{}
	for _, v := range top {
		seen[key(v)] = true
	}
	var out []T
	for _, v := range base {
		if !seen[key(v)] {
			out = append(out, v)
		}
	}
	return append(out, top...)
}

// staticTokens lists the default and the configured static tokens.
func (s *Server) staticTokens() (map[string]auth.Principal, error) {
	hl := s.defaults.HighLevel
	out := map[string]auth.Principal{hl.Token: {Kind: auth.PrivateIntegration, AppID: "pit-" + hl.Token[4:12],
		LocationID: hl.Location.ID, Scopes: SpecScopes(s.HighLevel.spec)}}
	for _, t := range s.opts.HighLevel.Tokens {
		if t.Token == "" || t.LocationID == "" {
			return nil, fmt.Errorf("mock: a configured token needs token and locationId")
		}
		p := auth.Principal{Kind: auth.PrivateIntegration, AppID: "pit-" + t.Token, LocationID: t.LocationID, Scopes: t.Scopes}
		if t.Type == "oauth" {
			p.Kind, p.AppID = auth.OAuthAccess, "config"
		}
		if d := t.ExpiresIn.Std(); d > 0 {
			p.ExpiresAt = s.clock.Now().Add(d)
		}
		out[t.Token] = p
	}
	return out, nil
}

func (s *Server) addFaults() error {
	for _, r := range s.opts.Faults {
		if _, err := s.faults.Add(r); err != nil {
			return fmt.Errorf("mock: fault rule %q: %w", r.ID, err)
		}
	}
	return nil
}

// reset brings the twin back to its start-up state. Resets run one at a
// time; each table is swapped in one step, so a request sees the old or the
// new content, not an empty twin.
func (s *Server) reset() error {
	s.resetMu.Lock()
	defer s.resetMu.Unlock()
	// Pending webhooks go first: a write that lands while the state is
	// swapped keeps its event.
	s.emitter.reset()
	defer paceLargeLoad(s.opts.StateFile)()
	file := s.readStateFile()
	if file.err != nil {
		return fmt.Errorf("reset: %w", file.err)
	}
	large, err := s.loadStart(file, nil)
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	// Decoding a large state leaves garbage behind: give it back now rather
	// than carry it while serving (a small one's is not worth a pause at
	// every reset).
	if large {
		debug.FreeOSMemory()
	}
	keys, err := s.staticKeys()
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	tokens, err := s.staticTokens()
	if err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	s.keys.Reset(keys)
	s.tokens.Reset(tokens)
	s.leaky.Reset()
	s.limiter.Reset()
	s.journal.Clear()
	s.faults.Clear()
	return s.addFaults()
}

func defaultLocation(ids *store.IDs) store.Location {
	return store.Location{
		ID:             ids.New(),
		Name:           "Contactbridge Demo",
		Timezone:       "America/New_York",
		DuplicateOrder: []string{"email", "phone"},
		Calendars:      []store.Calendar{{ID: ids.New(), Name: "Sales calls"}},
		CustomFields: []store.CustomFieldDef{
			{ID: ids.New(), Key: "contact.lead_score", Name: "Lead score"},
			{ID: ids.New(), Key: "contact.plan", Name: "Plan"},
		},
	}
}
