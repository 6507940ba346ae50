package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
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
	// ChildrenPageSize is how many changed contacts one page of
	// HighLevelChildren reads: each costs two requests more (its tasks,
	// its notes).
	ChildrenPageSize = 50
	// AppointmentsBack and AppointmentsAhead are the window of start times
	// in which HighLevelAppointments looks for changed appointments.
	AppointmentsBack  = 30 * 24 * time.Hour
	AppointmentsAhead = 365 * 24 * time.Hour
)

// EntityChildren is the kind of a HighLevelChildren stream's own changes
// (a contact whose tasks and notes were listed at a version) and of the
// one Converge job a listing makes for the contact's tasks and notes found
// at a content not seen before (Converge.Children).
const EntityChildren = "children"

// ChildrenPerJob is the most children a children job converges: a
// contact with more makes a job of each ChildrenPerJob. A job converges
// its children one after the other within one JobTimeout (1 minute by
// default), each a read and a create or two, which wait for the quota:
// the 32 workers of a backfill share a location's 10 requests a second,
// about 3 s a request each. A job of every child of a contact with dozens
// would time out before its end, and its retries, which read again the
// children converged before, would not get further.
const ChildrenPerJob = 8

// The effect keys of the Marketing 360 counterparts of a HighLevel task
// (flow 6) and note (flow 4) are these prefixes and the HighLevel id; the
// effects run in their contact's lane (contactLane). The poller finds a
// contact's mapped tasks and notes by them.
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
	// recordCost is the fewest requests each record of a page costs
	// beyond the page's read: the read of its job (1), or the lists of its
	// children (2). A backfill sizes its pages by it.
	recordCost int
	// children lists the records of a changed record (a HighLevel
	// contact's tasks and notes), each a change of its own kind: the
	// stream's own changes then make no jobs, their children's do.
	children func(ctx context.Context, parent string) ([]change, error)
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
	// full: the page ends before a record whose requests the walk's
	// budget could not hold (see walk).
	full bool
	// listed are the ids of every record the stream holds, when the read
	// lists them whole (nil: it does not): a mapped record not among them
	// is looked at again (deleted, or gone out of the list's window).
	listed map[string]bool
}

// change is a record found changed, at a version; parent is the id of
// the contact a task, note or event belongs to, which its job needs to read
// it ("" for a contact); kind is its entity kind when it is not the
// stream's (a child's); after is where a walk stands past it (a HighLevel
// contact's searchAfter).
type change struct {
	id, version, parent, kind string
	after                     []any
}

// kindIn is the entity kind of c in stream s.
func (c change) kindIn(s Stream) string {
	if c.kind != "" {
		return c.kind
	}
	return s.EntityKind
}

// isStart tells that pos is a stream's beginning.
func (pos position) isStart() bool {
	return len(pos.After) == 0 && pos.Since == 0 && pos.Page == 0 && !pos.Done
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
		if ms, ok := pos.After[0].(float64); ok {
			return position{After: []any{ms - float64(overlap.Milliseconds()), ""}}
		}
		return position{}
	case pos.Page <= 1 && pos.Since > 0:
		return position{Since: max(0, pos.Since-int64(overlap/time.Second)), Page: 1}
	}
	return pos
}

// HighLevelContacts is the stream of a location's contacts, oldest update
// first: POST /contacts/search sorted on dateUpdated, then id, walked with
// searchAfter and filtered to dateUpdated at or after the cursor.
func HighLevelContacts(c *highlevelapi.ClientWithResponses, location string) Stream {
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

// HighLevelChildren is the stream of the tasks and notes of a location's
// contacts: the contacts found changed as HighLevelContacts finds them (a
// task's or note's change moves its contact's dateUpdated; see the
// search's description in openapi/highlevel.yaml), each listed once per
// version of the contact (GET /contacts/{id}/tasks and …/notes), and one
// job enqueued for the contact's tasks and notes at a content not seen
// before (EntityChildren), which converges each in turn. The API
// has no location-wide "changed since" for tasks and notes. A deletion
// moves the contact's dateUpdated too: a task or note the sync mirrored
// (flows 6 and 4) that its contact's lists no longer hold gets a job,
// which finds it gone and deletes its counterpart, as its lost webhook
// would have.
func HighLevelChildren(c *highlevelapi.ClientWithResponses, location string) Stream {
	s := HighLevelContacts(c, location)
	s.Name, s.EntityKind, s.pageLimit, s.recordCost = "hl:"+location+":children", EntityChildren, ChildrenPageSize, 2
	s.children = func(ctx context.Context, contact string) ([]change, error) {
		tasks, err := highlevelapi.OK(c.GetAllTasksWithResponse(ctx, contact,
			&highlevelapi.GetAllTasksParams{Version: highlevelapi.GetAllTasksParamsVersionN20210728}))
		if err == nil && tasks.JSON200 == nil {
			err = highlevelapi.ErrNoBody
		}
		if err != nil {
			return nil, fmt.Errorf("engine: list the tasks of HighLevel contact %s: %w", contact, err)
		}
		notes, err := highlevelapi.OK(c.GetAllNotesWithResponse(ctx, contact,
			&highlevelapi.GetAllNotesParams{Version: highlevelapi.GetAllNotesParamsVersionN20210728}))
		if err == nil && notes.JSON200 == nil {
			err = highlevelapi.ErrNoBody
		}
		if err != nil {
			return nil, fmt.Errorf("engine: list the notes of HighLevel contact %s: %w", contact, err)
		}
		out := make([]change, 0, len(tasks.JSON200.Tasks)+len(notes.JSON200.Notes))
		for _, t := range tasks.JSON200.Tasks {
			v, err := hashOf(hlTaskContent(t))
			if err != nil {
				return nil, err
			}
			out = append(out, change{id: t.Id, version: v, parent: contact, kind: EntityTask})
		}
		for _, n := range notes.JSON200.Notes {
			v, err := hashOf(n.Body)
			if err != nil {
				return nil, err
			}
			out = append(out, change{id: n.Id, version: v, parent: contact, kind: EntityNote})
		}
		return out, nil
	}
	return s
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
	// seen before Enqueued in Converge jobs (a children job counts each
	// of its children: each is read).
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
	pos, err := p.position(ctx, s.Name)
	if err != nil {
		return PollStats{}, err
	}
	if pos.isStart() && !p.cfg.From.IsZero() {
		pos = s.at(p.cfg.From)
	}
	pos = pos.rewound(p.cfg.Overlap)
	var stats PollStats
	for range p.cfg.MaxPages {
		pg, enqueued, err := p.step(ctx, s, pos, walk{cursor: s.Name, source: pollSource(s.Side), limit: s.pageLimit,
			left: math.MaxInt, fresh: true})
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
// limit records, spending at most left requests (the read of each job it
// enqueues included) but when the page's first record alone costs more on
// a fresh day's walk: that record is read whole, or the walk would stop
// there for good.
type walk struct {
	cursor, source string
	limit, left    int
	fresh          bool
	// also runs in the page's transaction with how many jobs it enqueued
	// (nil: nothing).
	also func(tx *state.Tx, pg page, enqueued int) error
}

// step reads the page of s at pos and, in one transaction, stores its
// changes in the inbox (w.source), enqueues their jobs, saves the cursor
// past it (as w.cursor, done when the stream ended in a backfill) and runs
// w.also; it returns the page and the records enqueued. A page of a stream with children ends before the first record
// whose children would spend more than w.left.
func (p *Poller) step(ctx context.Context, s Stream, pos position, w walk) (page, int, error) {
	pg, err := s.read(ctx, pos, w.limit)
	if err != nil {
		return page{}, 0, err
	}
	kids, err := p.children(ctx, s, w, pos, &pg)
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
		// A stream with children: one job for each record's fresh children
		// (children lists them record after record), or one for each
		// ChildrenPerJob of them.
		var families []ConvergeChildren
		var jobs []Args
		changes := slices.Concat(pg.changes, kids, gone)
		fresh, err := p.record(ctx, tx, s, w.source, changes, now)
		if err != nil {
			return err
		}
		for i, c := range changes {
			if !fresh[i] || (s.children != nil && i < len(pg.changes)) {
				continue
			}
			enqueued++
			if s.children != nil {
				if n := len(families); n == 0 || families[n-1].Converge.ID != c.parent || len(families[n-1].Children) == ChildrenPerJob {
					families = append(families, ConvergeChildren{Converge: Converge{Side: s.Side, EntityKind: EntityChildren, Tenant: s.Tenant, ID: c.parent}})
				}
				f := &families[len(families)-1]
				f.Children = append(f.Children, Child{Kind: c.kindIn(s), ID: c.id})
				continue
			}
			jobs = append(jobs, Converge{Side: s.Side, EntityKind: c.kindIn(s), Tenant: s.Tenant, ID: c.id, Parent: c.parent})
		}
		for _, f := range families {
			jobs = append(jobs, f)
		}
		if err := p.cfg.Queue.EnqueueMany(ctx, tx, jobs); err != nil {
			return err
		}
		next := pg.next
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

// children lists the children of the changes on pg (read at pos) of a
// stream with children (none for another), skipping the records listed at
// their version already (the inbox has them) and those gone meanwhile, and
// adding, for each record listed, a change of each mapped child its lists
// no longer hold. It counts its lists in pg.requests; when the next
// record's lists and jobs would spend more than w.left (each job a
// request), pg ends before that record.
func (p *Poller) children(ctx context.Context, s Stream, w walk, pos position, pg *page) ([]change, error) {
	if s.children == nil {
		return nil, nil
	}
	ids := make([]string, len(pg.changes))
	for i, c := range pg.changes {
		ids[i] = inboxID(s, c)
	}
	listed, err := p.cfg.DB.InboxStored(ctx, w.source, ids)
	if err != nil {
		return nil, fmt.Errorf("engine: inbox: %w", err)
	}
	var out []change
	for i, c := range pg.changes {
		if listed[ids[i]] {
			continue
		}
		if pg.requests+len(out)+s.recordCost > w.left {
			pg.cut(i, pos)
			break
		}
		pg.requests += s.recordCost
		kids, err := s.children(ctx, c.id)
		switch {
		case highlevelapi.IsNotFound(err):
			continue
		case err != nil:
			return nil, err
		}
		gone, err := p.goneChildren(ctx, s.Tenant, c, kids)
		if err != nil {
			return nil, err
		}
		if pg.requests+len(out)+len(kids)+len(gone) > w.left && (i > 0 || !w.fresh) {
			pg.cut(i, pos)
			break
		}
		out = append(out, kids...)
		out = append(out, gone...)
	}
	return out, nil
}

// cut ends pg before its i-th change (read from pos), which the walk's
// budget cannot hold: the walk goes on from there.
func (pg *page) cut(i int, pos position) {
	pg.changes, pg.end, pg.next, pg.full = pg.changes[:i], false, pos, true
	if i > 0 {
		pg.next = position{After: pg.changes[i-1].after}
	}
}

// goneChildren are the changes of the tasks and notes of HighLevel contact
// c whose counterparts the sync made (flows 6 and 4) and that kids, its
// lists, no longer hold: deleted, their webhooks lost maybe.
func (p *Poller) goneChildren(ctx context.Context, tenant string, c change, kids []change) ([]change, error) {
	listed := make(map[string]bool, len(kids))
	for _, k := range kids {
		listed[k.kind+":"+k.id] = true
	}
	var out []change
	for _, kind := range []struct{ kind, key string }{{EntityTask, keyM360Task}, {EntityNote, keyM360Note}} {
		ms, err := p.cfg.DB.MappingsOfLane(ctx, kind.kind, tenant, contactLane(c.id), kind.key, hashDeleted)
		if err != nil {
			return nil, fmt.Errorf("engine: the mapped %ss of contact %s: %w", kind.kind, c.id, err)
		}
		for _, m := range ms {
			if !listed[kind.kind+":"+m.HLID] {
				out = append(out, change{id: m.HLID, version: goneVersion(c.version), parent: c.id, kind: kind.kind})
			}
		}
	}
	return out, nil
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

// inboxID is the inbox's event id of change c of stream s.
func inboxID(s Stream, c change) string {
	return s.Side + ":" + c.kindIn(s) + ":" + c.id + ":" + c.version
}

// record stores changes cs of s in the inbox, in one statement or a few,
// and tells of each whether it is fresh: false for a version seen already
// (or converged already: a HighLevel contact's mapping has it).
func (p *Poller) record(ctx context.Context, tx *state.Tx, s Stream, source string, cs []change, now time.Time) (fresh []bool, err error) {
	// The mappings of the HighLevel contacts among cs, read in one statement.
	versioned := func(c change) bool { return s.Side == SideHighLevel && c.kindIn(s) == EntityContact && c.version != "" }
	var contacts []state.Record
	for _, c := range cs {
		if versioned(c) {
			contacts = append(contacts, state.Record{Kind: EntityContact, ID: c.id})
		}
	}
	mapped, err := tx.MappingsByHighLevel(ctx, s.Tenant, contacts)
	if err != nil {
		return nil, err
	}
	rows := make([]state.InboxEvent, 0, len(cs))
	at := make([]int, 0, len(cs)) // the place in cs of each of rows
	for i, c := range cs {
		if m, ok := mapped[state.Record{Kind: EntityContact, ID: c.id}]; ok && versioned(c) && m.HLVersion == c.version {
			continue
		}
		body, err := json.Marshal(map[string]string{"id": c.id, "version": c.version})
		if err != nil {
			return nil, fmt.Errorf("engine: inbox body: %w", err)
		}
		kind := c.kindIn(s)
		rows = append(rows, state.InboxEvent{Source: source, EventID: inboxID(s, c),
			Tenant: s.Tenant, Type: kind + ".changed", EntityKind: kind, EntityID: c.id, EntityVersion: c.version,
			ReceivedAt: now, Body: body, State: state.InboxNew})
		at = append(at, i)
	}
	inserted, err := tx.InsertInboxes(ctx, rows)
	if err != nil {
		return nil, err
	}
	fresh = make([]bool, len(cs))
	for n, i := range at {
		fresh[i] = inserted[n]
	}
	return fresh, nil
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
