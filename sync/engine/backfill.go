package engine

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/state"
	"github.com/contactbridge/contactbridge/sync/transport"
)

// Defaults of BackfillConfig.
const (
	DefaultBackfillShare = 0.5
	// DefaultDailyQuota is a HighLevel location's requests a day.
	DefaultDailyQuota = 200_000
)

// BackfillConfig configures a backfill.
type BackfillConfig struct {
	// Share is the share of a HighLevel location's DailyQuota the backfill
	// may spend a day (0: DefaultBackfillShare): each request its walks
	// make (a search, a calendar's list) and the reads of each job it
	// enqueues (a contact's, and its lists of tasks and notes). Spent, it
	// waits for the next day (midnight UTC, as the quota resets) and goes
	// on where it stopped. The appointments of the calendars are read whole
	// (the API has no pages), their jobs counted but not bounded.
	Share      float64
	DailyQuota int
	// Clock tells the time and waits for the next day (nil: the system
	// clock).
	Clock transport.Clock
	// Progress is told after each page (nil: nothing).
	Progress func(BackfillProgress)
}

// BackfillProgress is where a backfill stands.
type BackfillProgress struct {
	Stream string
	// Read records of the stream so far in this backfill, Left to read as
	// the last page told (-1: unknown), Enqueued jobs.
	Read, Left, Enqueued int
	// End: the stream is done. Until: the day's share is spent; the
	// backfill waits until then.
	End   bool
	Until time.Time
}

// budget is a tenant's spending of a day, stored as a cursor.
type budget struct {
	Day   string `json:"day"`
	Spent int    `json:"spent"`
}

// budgetCursor names the cursor of a tenant's backfill spending.
func budgetCursor(tenant string) string { return "backfill-budget:" + tenant }

// backfillCursor names the cursor of a stream's backfill.
func backfillCursor(stream string) string { return "backfill:" + stream }

// Backfill walks every stream once from its start: the Marketing 360
// streams first, then the HighLevel ones in the order given (contacts,
// whose jobs converge their tasks and notes, before their appointments,
// whose jobs wait with the queue's backoff for their contact's
// counterpart), enqueuing a Converge
// job for each record at a version not seen yet, as Poll does. Marketing
// 360 goes first because the backfill's own jobs write there: walked
// after, it would list the records the sync has just made, each one more
// job that finds nothing to do (its Marketing 360 tasks' jobs wait, as
// HighLevel children's do, for their contacts' counterparts). It is resumable: each page moves the stream's backfill cursor
// in the transaction that enqueues its jobs, and a stream walked to its end
// is not walked again. HighLevel streams spend at most cfg.Share of the
// location's daily quota a day.
func (p *Poller) Backfill(ctx context.Context, cfg BackfillConfig) (PollStats, error) {
	if cfg.Share <= 0 {
		cfg.Share = DefaultBackfillShare
	}
	if cfg.DailyQuota <= 0 {
		cfg.DailyQuota = DefaultDailyQuota
	}
	if cfg.Clock == nil {
		cfg.Clock = transport.SystemClock{}
	}
	if cfg.Progress == nil {
		cfg.Progress = func(BackfillProgress) {}
	}
	var all PollStats
	streams := slices.Clone(p.cfg.Streams)
	slices.SortStableFunc(streams, func(a, b Stream) int { return cmp.Compare(sideOrder(a.Side), sideOrder(b.Side)) })
	for _, s := range streams {
		stats, err := p.backfillStream(ctx, s, cfg)
		all.Pages, all.Seen, all.Enqueued = all.Pages+stats.Pages, all.Seen+stats.Seen, all.Enqueued+stats.Enqueued
		if err != nil {
			return all, err
		}
	}
	all.End = true
	return all, nil
}

// sideOrder is a side's place in a backfill: Marketing 360 first.
func sideOrder(side string) int {
	if side == SideM360 {
		return 0
	}
	return 1
}

// backfillStream walks one stream to its end, logging it in the run log.
func (p *Poller) backfillStream(ctx context.Context, s Stream, cfg BackfillConfig) (stats PollStats, err error) {
	cursor := backfillCursor(s.Name)
	pos, err := p.backfillStart(ctx, s)
	if err != nil || pos.Done {
		return stats, err
	}
	run, err := p.cfg.DB.StartRun(ctx, RunBackfill, s.Tenant, cfg.Clock.Now())
	if err != nil {
		return stats, err
	}
	defer func() {
		raw, merr := json.Marshal(map[string]any{"stream": s.Name, "pages": stats.Pages, "seen": stats.Seen, "enqueued": stats.Enqueued, "end": stats.End})
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		err = errors.Join(err, merr, p.cfg.DB.FinishRun(context.WithoutCancel(ctx), run, cfg.Clock.Now(), string(raw), msg))
	}()
	budgeted := s.Side == SideHighLevel
	allowed := int(math.Floor(cfg.Share * float64(cfg.DailyQuota)))
	// Each page costs a request; each day at least one page can be read,
	// so the walk ends: it is bounded by the records and the days.
	for !stats.End {
		w := walk{cursor: cursor, source: state.SourceBackfill, limit: s.pageLimit}
		var spent budget
		if budgeted {
			if spent, err = p.spent(ctx, s.Tenant, cfg.Clock.Now()); err != nil {
				return stats, err
			}
			w.limit = min(w.limit, (allowed-spent.Spent-1)/s.recordCost)
			if w.limit < 1 {
				until := nextDay(cfg.Clock.Now())
				cfg.Progress(BackfillProgress{Stream: s.Name, Read: stats.Seen, Left: -1, Enqueued: stats.Enqueued, Until: until})
				p.log.InfoContext(ctx, "the backfill's share of the day's quota is spent; going on tomorrow", logkey.Tenant, s.Tenant,
					"until", until)
				if err := cfg.Clock.SleepUntil(ctx, until); err != nil {
					return stats, fmt.Errorf("engine: backfill %s: %w", s.Name, err)
				}
				continue
			}
		}
		w.also = func(tx *state.Tx, pg page, enqueued int) error {
			if !budgeted {
				return nil
			}
			spent.Spent += pg.requests + enqueued*s.recordCost
			raw, err := json.Marshal(spent)
			if err != nil {
				return fmt.Errorf("engine: backfill budget: %w", err)
			}
			return tx.SaveCursor(ctx, state.Cursor{Stream: budgetCursor(s.Tenant), Tenant: s.Tenant, Value: string(raw), UpdatedAt: cfg.Clock.Now()})
		}
		pg, enqueued, err := p.step(ctx, s, pos, w)
		if err != nil {
			return stats, err
		}
		stats.add(pg, enqueued)
		pos = pg.next
		cfg.Progress(BackfillProgress{Stream: s.Name, Read: stats.Seen, Left: max(pg.total-len(pg.changes), -1), Enqueued: stats.Enqueued, End: pg.end})
	}
	return stats, nil
}

// backfillStart is where the backfill of s stands: its cursor, or, for
// the HighLevel contacts with their children (HighLevelContacts), whose
// cursor the walks of before, of the contacts apart from their children,
// wrote (or none), where their children's walk (s.legacy) stood: done
// when it ended (the contacts' walk ended before it), else its place (the
// contacts before it had their children's jobs), or the start when it
// never began (none of the contacts walked had). Each cursor a walk with
// children saves says so (Children), so that it is read as its own.
func (p *Poller) backfillStart(ctx context.Context, s Stream) (position, error) {
	pos, err := p.position(ctx, backfillCursor(s.Name))
	if err != nil || s.legacy == "" || pos.Children {
		return pos, err
	}
	pos, err = p.position(ctx, backfillCursor(s.legacy))
	if err != nil {
		return position{}, err
	}
	if !pos.isStart() {
		p.log.InfoContext(ctx, "the backfill goes on from where the walk of the contacts' children stood", logkey.Tenant, s.Tenant,
			"stream", s.legacy, "done", pos.Done)
	}
	return pos, nil
}

// spent is what a tenant's backfill spent on now's day.
func (p *Poller) spent(ctx context.Context, tenant string, now time.Time) (budget, error) {
	today := budget{Day: now.UTC().Format(time.DateOnly)}
	c, err := p.cfg.DB.Cursor(ctx, budgetCursor(tenant))
	switch {
	case errors.Is(err, state.ErrNotFound):
		return today, nil
	case err != nil:
		return budget{}, fmt.Errorf("engine: backfill budget: %w", err)
	}
	var b budget
	if err := json.Unmarshal([]byte(c.Value), &b); err != nil {
		return budget{}, fmt.Errorf("engine: backfill budget %q: %w", c.Value, err)
	}
	if b.Day != today.Day {
		return today, nil
	}
	return b, nil
}

// nextDay is the next midnight UTC after now, when a daily quota resets.
func nextDay(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
}
