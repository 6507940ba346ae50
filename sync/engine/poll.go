package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/m360api"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// Defaults of PollerConfig.
const (
	// DefaultOverlap is how far back each poll re-reads: a search index
	// that lags (live HighLevel's search is eventually consistent) or a
	// record updated twice in one second is not missed. What was seen
	// already is not enqueued again.
	DefaultOverlap = time.Minute
	// DefaultMaxPages bounds the pages one poll of a stream reads; the
	// next poll goes on from its cursor.
	DefaultMaxPages = 20
	// AppointmentsBack and AppointmentsAhead are the window of start times
	// in which HighLevelAppointments looks for changed appointments.
	AppointmentsBack  = 30 * 24 * time.Hour
	AppointmentsAhead = 365 * 24 * time.Hour
)

// EntityChildren is the kind of the children jobs (ConvergeChildren)
// that polls enqueued for a contact's tasks and notes before a contact's
// job converged them itself (Converge.WithChildren).
const EntityChildren = "children"

// ChildrenPerJob is the most children that need a write a job converges
// (a contact's with its children: more make it snooze and go on, see
// Converger.ConvergeWithChildren). A job converges its children one after
// the other within one JobTimeout (1 minute by default), each a create or
// two, which wait for the quota: the 32 workers of a backfill share a
// location's 10 requests a second, about 3 s a request each. A job of
// every child of a contact with dozens would time out before its end.
const ChildrenPerJob = 8

// The effect keys of the Marketing 360 counterparts of a HighLevel task
// (flow 6) and note (flow 4) are these prefixes and the HighLevel id; the
// effects run in their contact's lane (contactLane). A contact's job finds
// its mapped tasks and notes by them.
const (
	keyM360Task = "f6:m360-task:"
	keyM360Note = "f4:m360-note:"
)

// contactLane is the effects' lane of HighLevel contact id: its own
// effects and its children's run one at a time.
func contactLane(id string) string { return "hl-contact:" + id }

// childPlan is the plan of the create of the Marketing 360 counterpart of
// HighLevel task or note id (flows 6 and 4); false for another kind.
func childPlan(kind, id string) (plan, bool) {
	switch kind {
	case EntityTask:
		return plan{key: keyM360Task + id, flow: flowTasks, op: opCreateTask}, true
	case EntityNote:
		return plan{key: keyM360Note + id, flow: flowTimeline, op: opCreateNote}, true
	}
	return plan{}, false
}

// goneVersion is the version of a change that tells a mapped record is no
// longer listed, seen so at version at (its contact's version, or its
// mapping's last write): one job per such sighting.
func goneVersion(at string) string { return "gone@" + at }

// Kinds of run-log entries of the poller.
const (
	RunReconcile = "reconcile"
	RunBackfill  = "backfill"
)

// KindReconcile is the kind of Reconcile jobs.
const KindReconcile = "reconcile"

// Reconcile asks to poll one stream for the changes since its cursor and
// enqueue their Converge jobs. The queue runs one per stream periodically
// (see Poller.Periodic); each stream is a job of its own, so one tenant
// unauthorised or out of quota does not hold up the others.
type Reconcile struct {
	Stream string `json:"stream"`
}

// Kind is KindReconcile.
func (Reconcile) Kind() string { return KindReconcile }

// Unique is true: a reconcile waiting to run absorbs the next.
func (Reconcile) Unique() bool { return true }

// Enqueuer enqueues jobs in a transaction (River does): EnqueueMany
// enqueues each of jobs as Enqueue would, at once.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *state.Tx, args Args) (Enqueued, error)
	EnqueueMany(ctx context.Context, tx *state.Tx, jobs []Args) error
}

// Stream is one list of changes of one tenant, read page by page from a
// cursor: HighLevel contacts by dateUpdated (POST /contacts/search),
// Marketing 360 contacts, tasks, notes and events by updatedSince.
type Stream struct {
	// Name names the stream's cursor: "hl:<location>:contacts".
	Name string
	// Side, EntityKind and Tenant are those of the Converge jobs it makes.
	Side, EntityKind, Tenant string
	read                     func(ctx context.Context, pos position, limit int) (page, error)
	// pageLimit is the largest page the API serves.
	pageLimit int
	// recordCost is the requests of the stream's API each job it
	// enqueues makes: the read of its record (1), and the lists of its
	// children (2 more) with withChildren. A backfill sizes its pages by it.
	recordCost int
	// withChildren: its jobs converge their records' children too
	// (Converge.WithChildren), a HighLevel contact's tasks and notes.
	withChildren bool
	// legacy names the stream that walked the children before this one
	// did (see Poller.pollStart and Poller.backfillStart).
	legacy string
}

// position is where a stream's walk stands, stored as a cursor's value.
type position struct {
	// After is the searchAfter of the last HighLevel contact read.
	After []any `json:"after,omitempty"`
	// Since and Page are Marketing 360's updatedSince (epoch seconds) and
	// the page of the records updated at that second reached so far.
	Since int64 `json:"since,omitempty"`
	Page  int   `json:"page,omitempty"`
	// Done: a backfill walked the whole stream.
	Done bool `json:"done,omitempty"`
	// Children: the walk's jobs converge their records' children (see
	// Poller.pollStart and Poller.backfillStart).
	Children bool `json:"children,omitempty"`
}

// page is one read of a stream.
type page struct {
	changes []change
	next    position
	// end: the walk reached the end of the stream.
	end bool
	// total is how many records the stream holds from the read on (-1:
	// unknown).
	total int
	// requests is how many requests the read made.
	requests int
	// listed are the ids of every record the stream holds, when the read
	// lists them whole (nil: it does not): a mapped record not among them
	// is looked at again (deleted, or gone out of the list's window).
	listed map[string]bool
}

// change is a record found changed, at a version; parent is the id of
// the contact a task, note or event belongs to, which its job needs to read
// it ("" for a contact); after is where a walk stands past it (a HighLevel
// contact's searchAfter).
type change struct {
	id, version, parent string
	after               []any
}

// isStart tells that pos is a stream's beginning.
func (pos position) isStart() bool {
	return len(pos.After) == 0 && pos.Since == 0 && pos.Page == 0 && !pos.Done
}

// HighLevelContacts is the stream of a location's contacts, oldest update
// first: POST /contacts/search sorted on dateUpdated, then id, walked with
// searchAfter and filtered to dateUpdated at or after the cursor. Its jobs
// converge each contact's tasks and notes after it, read from its lists
// (GET /contacts/{id}/tasks and …/notes: the API has no location-wide
// "changed since" for them), as a task's or a note's change, a deletion
// too, moves its contact's dateUpdated (see the search's description in
// openapi/highlevel.yaml): a task or note the sync mirrored (flows 6 and
// 4) that its contact's lists no longer hold is found gone and its
// counterpart deleted, as its lost webhook would have. The changes are
// stored in the inbox as "contact+children" ones, apart from those of the
// streams of before, which walked the contacts and their children apart
// (the latter as hl:<location>:children; see Poller.pollStart and
// Poller.backfillStart).
func HighLevelContacts(c *highlevelapi.ClientWithResponses, location string) Stream {
	s := highLevelContacts(c, location)
	s.recordCost, s.withChildren, s.legacy = 3, true, "hl:"+location+":children"
	return s
}

// at is the position of s's changes made from t on.
func (s Stream) at(t time.Time) position {
	if s.Side == SideHighLevel {
		return position{After: []any{float64(t.UnixMilli()), ""}}
	}
	return position{Since: t.Unix(), Page: 1}
}

// rewound is pos moved back by overlap, for a new poll.
func (pos position) rewound(overlap time.Duration) position {
	switch {
	case len(pos.After) > 0:
		if ms, ok := pos.updatedMillis(); ok {
			return position{After: []any{ms - float64(overlap.Milliseconds()), ""}}
		}
		return position{}
	case pos.Page <= 1 && pos.Since > 0:
		return position{Since: max(0, pos.Since-int64(overlap/time.Second)), Page: 1}
	}
	return pos
}

// highLevelContacts is the read of HighLevelContacts.
func highLevelContacts(c *highlevelapi.ClientWithResponses, location string) Stream {
	return Stream{Name: "hl:" + location + ":contacts", Side: SideHighLevel, EntityKind: EntityContact, Tenant: location,
		pageLimit: highlevelapi.SearchPageSize, recordCost: 1,
		read: func(ctx context.Context, pos position, limit int) (page, error) {
			body := highlevelapi.SearchBodyV2DTO{LocationId: location, PageLimit: limit,
				Sort: &[]struct {
					Direction highlevelapi.SearchBodyV2DTOSortDirection `json:"direction"`
					Field     highlevelapi.SearchBodyV2DTOSortField     `json:"field"`
				}{{Direction: highlevelapi.Asc, Field: highlevelapi.SearchBodyV2DTOSortFieldDateUpdated}}}
			if len(pos.After) > 0 {
				after := pos.After
				body.SearchAfter = &after
				if ms, ok := pos.After[0].(float64); ok {
					since := time.UnixMilli(int64(ms)).UTC().Format(time.RFC3339Nano)
					body.Filters = &[]highlevelapi.SearchFilter{{Field: highlevelapi.SearchFilterFieldDateUpdated,
						Operator: highlevelapi.Range, Value: map[string]string{"gte": since}}}
				}
			} else {
				one := 1
				body.Page = &one
			}
			res, err := highlevelapi.OK(c.SearchContactsAdvancedWithResponse(ctx, nil, body))
			if err == nil && res.JSON200 == nil {
				err = highlevelapi.ErrNoBody
			}
			if err != nil {
				return page{}, fmt.Errorf("engine: search HighLevel contacts of %s: %w", location, err)
			}
			out := page{next: pos, end: len(res.JSON200.Contacts) < limit, total: int(res.JSON200.Total), requests: 1}
			for _, ct := range res.JSON200.Contacts {
				out.changes = append(out.changes, change{id: ct.Id, version: deref(ct.DateUpdated), after: ct.SearchAfter})
				out.next = position{After: ct.SearchAfter}
			}
			return out, nil
		}}
}

// HighLevelAppointments is the stream of a location's appointments on
// calendars, by dateUpdated: GET /calendars/events of each calendar (the
// API needs one) over the start times from AppointmentsBack before now to
// AppointmentsAhead after, read whole (the list has no pages) and kept
// from the cursor's dateUpdated on. An appointment starting outside the
// window is not seen here (its webhook carries it). A mapped appointment
// the lists no longer hold (deleted, moved out of the window or to a
// calendar not polled) gets a job, once per write of its mapping: the job
// finds it gone and deletes its counterpart, as its lost webhook would
// have, or finds it unchanged.
func HighLevelAppointments(c *highlevelapi.ClientWithResponses, location string, calendars []string, now func() time.Time) Stream {
	return Stream{Name: "hl:" + location + ":appointments", Side: SideHighLevel, EntityKind: EntityAppointment, Tenant: location,
		pageLimit: 1, recordCost: 1,
		read: func(ctx context.Context, pos position, _ int) (page, error) {
			var since float64
			if len(pos.After) > 0 {
				since, _ = pos.After[0].(float64)
			}
			from := strconv.FormatInt(now().Add(-AppointmentsBack).UnixMilli(), 10)
			to := strconv.FormatInt(now().Add(AppointmentsAhead).UnixMilli(), 10)
			out := page{end: true, total: -1, requests: len(calendars), listed: map[string]bool{}}
			newest := since
			for _, cal := range calendars {
				res, err := highlevelapi.OK(c.GetCalendarEventsWithResponse(ctx, &highlevelapi.GetCalendarEventsParams{LocationId: location,
					CalendarId: &cal, StartTime: from, EndTime: to, Version: highlevelapi.GetCalendarEventsParamsVersionN20210415}))
				if err == nil && res.JSON200 == nil {
					err = highlevelapi.ErrNoBody
				}
				if err != nil {
					return page{}, fmt.Errorf("engine: list the appointments of calendar %s of %s: %w", cal, location, err)
				}
				for _, ev := range res.JSON200.Events {
					out.listed[ev.Id] = true
					var ms float64
					if at, err := time.Parse(time.RFC3339, ev.DateUpdated); err == nil {
						ms = float64(at.UnixMilli())
					}
					if ms < since && ms != 0 {
						continue
					}
					out.changes = append(out.changes, change{id: ev.Id, version: ev.DateUpdated, parent: ev.ContactId})
					newest = max(newest, ms)
				}
			}
			out.next = position{After: []any{newest, ""}}
			return out, nil
		}}
}

// M360Streams are the streams of a Marketing 360 account: its contacts,
// tasks, notes and calendar events, by updatedSince.
func M360Streams(c *m360api.ClientWithResponses, account string) []Stream {
	return []Stream{
		m360Stream(account, EntityContact, func(ctx context.Context, since int64, pg, size int) ([]m360api.Contact, int, error) {
			res, err := m360api.OK(c.M360ListContactsWithResponse(ctx, &m360api.M360ListContactsParams{UpdatedSince: &since, Page: &pg, PageSize: &size}))
			if err != nil || res.JSON200 == nil {
				return nil, 0, orNoBody(err)
			}
			return res.JSON200.Result, res.JSON200.Total, nil
		}, func(r m360api.Contact) (int64, int64, int64) { return r.Id, r.Updated, 0 }),
		m360Stream(account, EntityTask, func(ctx context.Context, since int64, pg, size int) ([]m360api.Task, int, error) {
			res, err := m360api.OK(c.M360ListTasksWithResponse(ctx, &m360api.M360ListTasksParams{UpdatedSince: &since, Page: &pg, PageSize: &size}))
			if err != nil || res.JSON200 == nil {
				return nil, 0, orNoBody(err)
			}
			return res.JSON200.Result, res.JSON200.Total, nil
		}, func(r m360api.Task) (int64, int64, int64) { return r.Id, r.Updated, r.ContactId }),
		m360Stream(account, EntityNote, func(ctx context.Context, since int64, pg, size int) ([]m360api.Note, int, error) {
			res, err := m360api.OK(c.M360ListAccountNotesWithResponse(ctx, &m360api.M360ListAccountNotesParams{UpdatedSince: &since, Page: &pg, PageSize: &size}))
			if err != nil || res.JSON200 == nil {
				return nil, 0, orNoBody(err)
			}
			return res.JSON200.Result, res.JSON200.Total, nil
		}, func(r m360api.Note) (int64, int64, int64) { return r.Id, r.Updated, r.ContactId }),
		m360Stream(account, EntityEvent, func(ctx context.Context, since int64, pg, size int) ([]m360api.Event, int, error) {
			res, err := m360api.OK(c.M360ListEventsWithResponse(ctx, &m360api.M360ListEventsParams{UpdatedSince: &since, Page: &pg, PageSize: &size}))
			if err != nil || res.JSON200 == nil {
				return nil, 0, orNoBody(err)
			}
			return res.JSON200.Result, res.JSON200.Total, nil
		}, func(r m360api.Event) (int64, int64, int64) { return r.Id, r.Updated, r.ContactId }),
	}
}

// orNoBody is err, or m360api.ErrNoBody for a 2xx answer without its body.
func orNoBody(err error) error {
	if err != nil {
		return err
	}
	return m360api.ErrNoBody
}

// m360Stream is a Marketing 360 list walked by updatedSince: each page
// from the second of the last record read (records of one second are
// paged through), so that a record updated during the walk, which moves to
// the list's end, shifts no other out of it.
func m360Stream[T any](account, kind string, list func(ctx context.Context, since int64, page, size int) ([]T, int, error),
	key func(T) (id, updated, contact int64)) Stream {
	return Stream{Name: "m360:" + account + ":" + kind + "s", Side: SideM360, EntityKind: kind, Tenant: account,
		pageLimit: m360api.DefaultPageSize, recordCost: 1,
		read: func(ctx context.Context, pos position, limit int) (page, error) {
			pg := max(pos.Page, 1)
			items, total, err := list(ctx, pos.Since, pg, limit)
			if err != nil {
				return page{}, fmt.Errorf("engine: list Marketing 360 %ss of %s: %w", kind, account, err)
			}
			out := page{end: len(items) < limit, total: total - (pg-1)*limit, next: position{Since: pos.Since, Page: pg + 1}, requests: 1}
			for _, it := range items {
				id, updated, contact := key(it)
				c := change{id: strconv.FormatInt(id, 10), version: strconv.FormatInt(updated, 10)}
				if contact != 0 {
					c.parent = strconv.FormatInt(contact, 10)
				}
				out.changes = append(out.changes, c)
				if updated > pos.Since {
					out.next = position{Since: updated, Page: 1}
				}
			}
			if out.end {
				out.next.Page = 1
			}
			return out, nil
		}}
}

// PollerConfig configures a Poller. DB, Queue and Streams are needed.
type PollerConfig struct {
	DB      *state.DB
	Queue   Enqueuer
	Streams []Stream
	// Overlap: see DefaultOverlap (0 means it). MaxPages: see
	// DefaultMaxPages (0 means it).
	Overlap  time.Duration
	MaxPages int
	// From is where a stream without a cursor starts its polls: the changes
	// made from then on (zero: the beginning, every record). A backfill
	// walks every record whatever it is.
	From time.Time
	// Now tells the time (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Poller reads the streams of changes and enqueues the Converge jobs of
// what changed: periodically (reconcile, the safety net under webhooks,
// which live HighLevel drops on any failure but a 429) and once from the
// start (backfill). A stream's cursor moves in the transaction that
// enqueues the jobs of the page it covers, never ahead of them.
type Poller struct {
	cfg     PollerConfig
	streams map[string]Stream
	log     *slog.Logger
}

// NewPoller checks cfg and makes a Poller.
func NewPoller(cfg PollerConfig) (*Poller, error) {
	if cfg.DB == nil || cfg.Queue == nil {
		return nil, fmt.Errorf("%w: a poller needs DB and Queue", ErrInvalidConfig)
	}
	if cfg.Overlap <= 0 {
		cfg.Overlap = DefaultOverlap
	}
	if cfg.MaxPages <= 0 {
		cfg.MaxPages = DefaultMaxPages
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Poller{cfg: cfg, streams: map[string]Stream{}, log: cfg.Logger.With(logkey.Component, "poll")}
	for _, s := range cfg.Streams {
		if s.Name == "" || s.read == nil || p.streams[s.Name].Name != "" {
			return nil, fmt.Errorf("%w: stream %q: each needs a name of its own (use HighLevelContacts, M360Streams)", ErrInvalidConfig, s.Name)
		}
		p.streams[s.Name] = s
	}
	return p, nil
}

// Streams are the poller's streams' names, in the order given.
func (p *Poller) Streams() []string {
	names := make([]string, 0, len(p.cfg.Streams))
	for _, s := range p.cfg.Streams {
		names = append(names, s.Name)
	}
	return names
}

// Periodic are the reconcile jobs of every stream, each every interval.
func (p *Poller) Periodic(every time.Duration) []Periodic {
	out := make([]Periodic, 0, len(p.cfg.Streams))
	for _, s := range p.cfg.Streams {
		out = append(out, Periodic{Every: every, Args: Reconcile{Stream: s.Name}})
	}
	return out
}

// PollStats count what a poll or a backfill did.
type PollStats struct {
	// Pages read, records Seen on them, and the records at a version not
	// seen before Enqueued in Converge jobs.
	Pages, Seen, Enqueued int
	// End: the stream was read to its end.
	End bool
}

func (s *PollStats) add(pg page, enqueued int) {
	s.Pages++
	s.Seen += len(pg.changes)
	s.Enqueued += enqueued
	s.End = pg.end
}

// Poll reads a stream from its cursor, moved back by the overlap, for up
// to MaxPages pages, and enqueues a Converge job for each record at a
// version the sync has not seen, in the transaction that moves the cursor
// past the page. A HighLevel contact whose mapping was written at its
// version needs no job.
func (p *Poller) Poll(ctx context.Context, stream string) (PollStats, error) {
	s, ok := p.streams[stream]
	if !ok {
		return PollStats{}, fmt.Errorf("%w: no stream %q", ErrInvalidConfig, stream)
	}
	pos, err := p.pollStart(ctx, s)
	if err != nil {
		return PollStats{}, err
	}
	if pos.isStart() && !p.cfg.From.IsZero() {
		pos = s.at(p.cfg.From)
	}
	pos = pos.rewound(p.cfg.Overlap)
	var stats PollStats
	for range p.cfg.MaxPages {
		pg, enqueued, err := p.step(ctx, s, pos, walk{cursor: s.Name, source: pollSource(s.Side), limit: s.pageLimit})
		if err != nil {
			return stats, err
		}
		stats.add(pg, enqueued)
		if pg.end {
			break
		}
		pos = pg.next
	}
	return stats, nil
}

// pollStart is where the polls of s stand: its cursor, or, for the
// HighLevel contacts with their children (HighLevelContacts) whose cursor
// the polls of before, of the contacts apart from their children, wrote,
// where the polls of their children (s.legacy) stood, when they did: the
// contacts changed since then have their children's jobs to come; the
// earlier of the two, so that the contacts changed since the contacts'
// cursor have theirs too when it is the one behind.
func (p *Poller) pollStart(ctx context.Context, s Stream) (position, error) {
	pos, err := p.position(ctx, s.Name)
	if err != nil || s.legacy == "" || pos.Children {
		return pos, err
	}
	legacy, err := p.position(ctx, s.legacy)
	if err != nil || legacy.isStart() {
		return pos, err
	}
	if own, ok := pos.updatedMillis(); ok {
		if theirs, ok := legacy.updatedMillis(); ok && own < theirs {
			return pos, nil
		}
	}
	return legacy, nil
}

// updatedMillis is the dateUpdated (epoch milliseconds) a HighLevel
// contacts' position stands at; false for another.
func (pos position) updatedMillis() (float64, bool) {
	if len(pos.After) == 0 {
		return 0, false
	}
	ms, ok := pos.After[0].(float64)
	return ms, ok
}

// pollSource is the inbox source of a side's polls.
func pollSource(side string) string {
	if side == SideM360 {
		return state.SourceM360Poll
	}
	return state.SourceHighLevelPoll
}

// position reads a cursor; the start for none.
func (p *Poller) position(ctx context.Context, name string) (position, error) {
	c, err := p.cfg.DB.Cursor(ctx, name)
	switch {
	case errors.Is(err, state.ErrNotFound):
		return position{}, nil
	case err != nil:
		return position{}, fmt.Errorf("engine: cursor: %w", err)
	}
	var pos position
	if err := json.Unmarshal([]byte(c.Value), &pos); err != nil {
		return position{}, fmt.Errorf("engine: cursor %s %q: %w", name, c.Value, err)
	}
	return pos, nil
}

// walk is how a step reads a page: its cursor and inbox source, up to
// limit records.
type walk struct {
	cursor, source string
	limit          int
	// also runs in the page's transaction with how many jobs it enqueued
	// (nil: nothing).
	also func(tx *state.Tx, pg page, enqueued int) error
}

// step reads the page of s at pos and, in one transaction, stores its
// changes in the inbox (w.source), enqueues their jobs, saves the cursor
// past it (as w.cursor, done when the stream ended in a backfill) and runs
// w.also; it returns the page and the records enqueued.
func (p *Poller) step(ctx context.Context, s Stream, pos position, w walk) (page, int, error) {
	pg, err := s.read(ctx, pos, w.limit)
	if err != nil {
		return page{}, 0, err
	}
	gone, err := p.unlisted(ctx, s, pg)
	if err != nil {
		return page{}, 0, err
	}
	enqueued := 0
	err = p.cfg.DB.Tx(ctx, func(tx *state.Tx) error {
		now := p.cfg.Now()
		var jobs []Args
		changes := slices.Concat(pg.changes, gone)
		fresh, err := p.record(ctx, tx, s, w.source, changes, now)
		if err != nil {
			return err
		}
		for i, c := range changes {
			if !fresh[i] {
				continue
			}
			enqueued++
			jobs = append(jobs, Converge{Side: s.Side, EntityKind: s.EntityKind, Tenant: s.Tenant, ID: c.id, Parent: c.parent,
				WithChildren: s.withChildren})
		}
		if err := p.cfg.Queue.EnqueueMany(ctx, tx, jobs); err != nil {
			return err
		}
		next := pg.next
		next.Children = s.withChildren
		if w.source == state.SourceBackfill && pg.end {
			next.Done = true
		}
		raw, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("engine: cursor %s: %w", w.cursor, err)
		}
		if err := tx.SaveCursor(ctx, state.Cursor{Stream: w.cursor, Tenant: s.Tenant, Value: string(raw), Overlap: p.cfg.Overlap, UpdatedAt: now}); err != nil {
			return err
		}
		if w.also != nil {
			return w.also(tx, pg, enqueued)
		}
		return nil
	})
	if err != nil {
		return page{}, 0, fmt.Errorf("engine: poll %s: %w", s.Name, err)
	}
	p.log.DebugContext(ctx, "polled a page", logkey.Tenant, s.Tenant, logkey.Kind, s.EntityKind, logkey.Count, len(pg.changes),
		"enqueued", enqueued)
	return pg, enqueued, nil
}

// unlisted are the changes of the mapped records of s that pg, a read
// that lists them whole, does not hold (none for another read), each at
// the time of its mapping's last write: its job, which finds it deleted or
// as it was, writes its mapping only when there is something to write, so
// a record that stays out of the list is looked at once.
func (p *Poller) unlisted(ctx context.Context, s Stream, pg page) ([]change, error) {
	if pg.listed == nil {
		return nil, nil
	}
	ms, err := p.cfg.DB.MappingsOfKind(ctx, s.EntityKind, s.Tenant, hashDeleted)
	if err != nil {
		return nil, fmt.Errorf("engine: the mapped %ss: %w", s.EntityKind, err)
	}
	var out []change
	for _, m := range ms {
		if !pg.listed[m.HLID] {
			out = append(out, change{id: m.HLID, version: goneVersion(strconv.FormatInt(m.UpdatedAt.UnixMilli(), 10))})
		}
	}
	return out, nil
}

// inboxID is the inbox's event id of change c of stream s: a stream's
// with children has a kind of its own, "contact+children", so that the
// contacts the streams of before walked apart from their children are
// not taken for converged with them.
func inboxID(s Stream, c change) string {
	kind := s.EntityKind
	if s.withChildren {
		kind += "+children"
	}
	return s.Side + ":" + kind + ":" + c.id + ":" + c.version
}

// record stores changes cs of s in the inbox, in one statement or a few,
// and tells of each whether it is fresh: false for a version seen already.
// (A HighLevel contact's mapping written at its version does not make it
// seen: a webhook's job converged the contact, not its children.)
func (p *Poller) record(ctx context.Context, tx *state.Tx, s Stream, source string, cs []change, now time.Time) (fresh []bool, err error) {
	rows := make([]state.InboxEvent, len(cs))
	for i, c := range cs {
		body, err := json.Marshal(map[string]string{"id": c.id, "version": c.version})
		if err != nil {
			return nil, fmt.Errorf("engine: inbox body: %w", err)
		}
		rows[i] = state.InboxEvent{Source: source, EventID: inboxID(s, c),
			Tenant: s.Tenant, Type: s.EntityKind + ".changed", EntityKind: s.EntityKind, EntityID: c.id, EntityVersion: c.version,
			ReceivedAt: now, Body: body, State: state.InboxNew}
	}
	return tx.InsertInboxes(ctx, rows)
}

// Worker is the queue's worker of Reconcile jobs: a poll of the stream,
// logged in the run log. A stream whose tenant's daily quota is spent
// snoozes until the quota comes back; other errors are retried with the
// queue's backoff. A stream no longer configured completes.
func (p *Poller) Worker() Worker {
	return Worker{Kind: KindReconcile, Work: func(ctx context.Context, job *Job) error {
		var a Reconcile
		if err := job.Decode(&a); err != nil {
			return err
		}
		s, ok := p.streams[a.Stream]
		if !ok {
			p.log.WarnContext(ctx, "a reconcile job of a stream no longer configured", "stream", a.Stream)
			return p.cfg.DB.Tx(ctx, func(tx *state.Tx) error { return job.Complete(ctx, tx) })
		}
		run, err := p.cfg.DB.StartRun(ctx, RunReconcile, s.Tenant, p.cfg.Now())
		if err != nil {
			return err
		}
		stats, err := p.Poll(ctx, a.Stream)
		raw, merr := json.Marshal(map[string]any{"stream": s.Name, "pages": stats.Pages, "seen": stats.Seen, "enqueued": stats.Enqueued})
		if merr != nil {
			return fmt.Errorf("engine: run stats: %w", merr)
		}
		if err != nil {
			if ferr := p.cfg.DB.FinishRun(ctx, run, p.cfg.Now(), string(raw), err.Error()); ferr != nil {
				return errors.Join(err, ferr)
			}
			p.log.WarnContext(ctx, "reconcile failed", "stream", s.Name, logkey.Tenant, s.Tenant, logkey.Err, err)
			if dq, ok := errors.AsType[*transport.DailyQuotaError](err); ok {
				return &SnoozeError{For: dq.Reset.Sub(p.cfg.Now()), Err: err}
			}
			return err
		}
		return p.cfg.DB.Tx(ctx, func(tx *state.Tx) error {
			if err := tx.FinishRun(ctx, run, p.cfg.Now(), string(raw), ""); err != nil {
				return err
			}
			return job.Complete(ctx, tx)
		})
	}}
}
