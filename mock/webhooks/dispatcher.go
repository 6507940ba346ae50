package webhooks

import (
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/mock/clock"
)

// Options configure a Dispatcher. Zero fields take defaults.
type Options struct {
	// Clock schedules retries and delays; a manual clock holds them until
	// it is moved. nil means the real clock.
	Clock clock.Clock
	// Keys are the keys messages signed with them are spooled by, and
	// what Keys returns; nil makes random ones.
	Keys     *Keys
	Settings Settings
	// Workers is how many attempts run at once (default 4).
	Workers int
	// LogSize is how many finished deliveries the log keeps (default
	// 1000); pending ones are always kept.
	LogSize int
	// Seed makes the duplicate and delay dice reproducible.
	Seed uint64
	// Spool, when set, is the file that pending deliveries are written to
	// at Close and read back from at New.
	Spool string
	// Validate, when set, checks a message before it is sent; a message it
	// refuses is logged as invalid and never sent (strict mode).
	Validate func(Message) error
	// Observe, when set, is told each delivery as it is logged and after
	// each of its attempts (outside the dispatcher's lock, from the worker
	// that made the attempt): the place for metrics, dashboards and tests.
	Observe func(Delivery)
	// Client sends the attempts; nil means one of the dispatcher's own,
	// which refuses to connect to Self's listeners when Self is set.
	Client *http.Client
	Self   *Self
	Logger *slog.Logger
}

// Dispatcher delivers messages. Its workers run until Close.
type Dispatcher struct {
	clock    clock.Clock
	keys     *Keys
	client   *http.Client
	ownsHTTP bool
	validate func(Message) error
	observe  func(Delivery)
	spool    string
	seed     uint64
	logSize  int
	log      *slog.Logger
	ctx      context.Context // cancelled when attempts must stop
	cancel   context.CancelFunc
	wg       sync.WaitGroup // the workers

	mu       sync.Mutex // guards everything below
	settings Settings
	next     uint64
	byID     map[string]*delivery
	order    []*delivery // the log, oldest first
	finished int         // finished deliveries in order
	lanes    map[string]*lane
	ready    laneHeap
	inFlight int
	changed  chan struct{} // closed on every change workers wait for
	draining bool          // Close: one last attempt each, now
	stopped  bool          // Close gave up: no more attempts

	closeOnce sync.Once
	closeErr  error
}

// delivery is a Delivery with what the dispatcher keeps of it.
type delivery struct {
	Delivery
	seq       uint64 // creation order
	lane      *lane
	due       time.Time
	cancelled bool // by Reset, while in flight
	alone     bool // in a lane of its own (the reorder window)
}

// New starts a dispatcher, with the deliveries its spool holds.
func New(opts Options) (*Dispatcher, error) {
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.LogSize <= 0 {
		opts.LogSize = 1000
	}
	settings := opts.Settings.WithDefaults()
	if err := settings.Validate(); err != nil {
		return nil, err
	}
	if opts.Keys == nil {
		keys, err := GenerateKeys(opts.Seed, false)
		if err != nil {
			return nil, err
		}
		opts.Keys = keys
	}
	d := &Dispatcher{clock: opts.Clock, keys: opts.Keys, client: opts.Client, validate: opts.Validate,
		observe: opts.Observe, spool: opts.Spool, seed: opts.Seed, logSize: opts.LogSize,
		log: opts.Logger.With(logkey.Component, "webhooks"), settings: settings,
		byID: map[string]*delivery{}, lanes: map[string]*lane{}, changed: make(chan struct{})}
	if d.client == nil {
		d.ownsHTTP = true
		dialer := &net.Dialer{Timeout: 5 * time.Second}
		if opts.Self != nil {
			dialer.Control = opts.Self.control
		}
		d.client = &http.Client{
			Transport: &http.Transport{DialContext: dialer.DialContext,
				MaxIdleConnsPerHost: opts.Workers, IdleConnTimeout: 30 * time.Second},
			// A redirect is an answer that is not a 2xx, as production treats it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if err := d.readSpool(); err != nil {
		return nil, err
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Add(opts.Workers)
	for range opts.Workers {
		go d.work()
	}
	return d, nil
}

// Keys returns the dispatcher's signing keys (Options.Keys).
func (d *Dispatcher) Keys() *Keys { return d.keys }

// Settings returns the settings in force.
func (d *Dispatcher) Settings() Settings {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.settings
}

// SetSettings changes the settings; zero retry fields take the defaults.
// Deliveries already scheduled keep their times.
func (d *Dispatcher) SetSettings(s Settings) error {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settings = s
	return nil
}

// Send queues a message and returns its delivery. It never blocks on the
// receiver: the attempt happens on a worker.
func (d *Dispatcher) Send(m Message) (Delivery, error) {
	var invalid error
	if d.validate != nil {
		invalid = d.validate(m)
	}
	v, err := d.send(m, invalid)
	if err == nil {
		d.told(v)
	}
	return v, err
}

func (d *Dispatcher) send(m Message, invalid error) (Delivery, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return Delivery{}, ErrClosed
	}
	del := d.add(m, "")
	if invalid != nil {
		d.log.Error("webhook payload does not match the spec; not sent", logkey.Delivery, del.ID, logkey.Event, m.Event, logkey.Err, invalid)
		del.Status, del.Error = StatusInvalid, invalid.Error()
		d.archive(del)
		return del.view(), nil
	}
	s := d.settings
	if reason := d.lost(del, s); reason != "" {
		del.Status, del.Error = StatusDropped, reason
		d.archive(del)
		d.log.Info("webhook dropped before its first attempt", logkey.Delivery, del.ID, logkey.Event, m.Event,
			logkey.EventID, m.EventID, logkey.Err, reason)
		return del.view(), nil
	}
	wait := s.Delay.Std() + d.jitter("delay", del, s.DelayJitter.Std())
	if s.Reorder > 0 {
		wait += d.jitter("reorder", del, s.Reorder.Std())
		del.alone = true
	}
	del.due = d.clock.Now().Add(wait)
	d.enqueue(del, false)
	return del.view(), nil
}

// lost tells why the seeded loss drops a new delivery; "" keeps it.
func (d *Dispatcher) lost(del *delivery, s Settings) string {
	switch {
	case s.dropsEvent(del.Event):
		return "dropped by the rule for " + del.Event + " (dropEvents)"
	case s.Drop > 0 && d.dice("drop\x00"+del.EventID+"\x00"+del.Subscription) < s.Drop:
		return "lost by the seeded drop probability (drop " + strconv.FormatFloat(s.Drop, 'g', -1, 64) + ")"
	}
	return ""
}

// told passes a delivery to the observer.
func (d *Dispatcher) told(v Delivery) {
	if d.observe != nil {
		d.observe(v)
	}
}

// Redeliver sends a logged delivery's message again, as a new delivery with
// the same body and event id, and returns it.
func (d *Dispatcher) Redeliver(id string) (Delivery, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return Delivery{}, ErrClosed
	}
	old, ok := d.byID[id]
	if !ok {
		return Delivery{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if old.Status == StatusInvalid {
		return Delivery{}, fmt.Errorf("%w: %s was never sent: %s", ErrInvalidPayload, id, old.Error)
	}
	return d.redeliver(old), nil
}

// RedeliverMatching redelivers every logged delivery f selects, whatever
// its status (pending, finished or dropped), oldest first, as Redeliver
// does each; it skips what strict mode never sent, and the redeliveries it
// queues itself; f.Limit does not apply. It returns the new deliveries.
func (d *Dispatcher) RedeliverMatching(f Filter) ([]Delivery, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.draining {
		return nil, ErrClosed
	}
	var olds []*delivery
	for _, del := range d.order {
		if del.Status != StatusInvalid && f.match(&del.Delivery) {
			olds = append(olds, del)
		}
	}
	out := make([]Delivery, 0, len(olds))
	for _, old := range olds {
		out = append(out, d.redeliver(old))
	}
	return out, nil
}

// redeliver queues old's message again, due now. Callers hold mu.
func (d *Dispatcher) redeliver(old *delivery) Delivery {
	del := d.add(old.Message, old.ID)
	del.due = d.clock.Now()
	d.enqueue(del, false)
	return del.view()
}

// add logs a new pending delivery of m. Callers hold mu.
func (d *Dispatcher) add(m Message, redeliveryOf string) *delivery {
	d.next++
	del := &delivery{seq: d.next, Delivery: Delivery{ID: "wh_" + strconv.FormatUint(d.next, 10), Message: m,
		Status: StatusPending, Attempts: []Attempt{}, CreatedAt: d.clock.Now(), RedeliveryOf: redeliveryOf}}
	d.byID[del.ID] = del
	d.order = append(d.order, del)
	return del
}

// enqueue puts a pending delivery in its lane: at the end, or right behind
// the head (a duplicate of the head, which has just been delivered and is
// gone). Callers hold mu.
func (d *Dispatcher) enqueue(del *delivery, front bool) {
	key := del.Twin + "\x00" + del.Subscription + "\x00" + del.Resource
	if del.alone {
		key += "\x00" + del.ID
	}
	l := d.lanes[key]
	if l == nil {
		l = &lane{key: key, index: -1}
		d.lanes[key] = l
	}
	del.lane = l
	if front {
		l.queue = slices.Insert(l.queue, 0, del)
	} else {
		l.queue = append(l.queue, del)
	}
	d.schedule(l)
	d.broadcast()
}

// schedule puts an idle lane with work in the ready heap, or fixes its
// place when its head changed. Callers hold mu.
func (d *Dispatcher) schedule(l *lane) {
	switch {
	case l.busy || l.parked || len(l.queue) == 0:
		if l.index >= 0 {
			heap.Remove(&d.ready, l.index)
		}
	case l.index >= 0:
		heap.Fix(&d.ready, l.index)
	default:
		heap.Push(&d.ready, l)
	}
	if len(l.queue) == 0 && !l.busy {
		delete(d.lanes, l.key)
	}
}

func (d *Dispatcher) broadcast() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// work is a worker: it attempts due deliveries until Close.
func (d *Dispatcher) work() {
	defer d.wg.Done()
	for {
		del, s, ok := d.take()
		if !ok {
			return
		}
		if v, ok := d.finish(del, d.attempt(del, s)); ok {
			d.told(v)
		}
	}
}

// take waits for a delivery that is due (or, draining, any) and marks its
// lane busy; false once there is nothing left to do.
func (d *Dispatcher) take() (*delivery, Settings, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for {
		if d.stopped || (d.draining && len(d.ready) == 0 && d.inFlight == 0) {
			return nil, Settings{}, false
		}
		var wake <-chan struct{}
		stop := func() {}
		if len(d.ready) > 0 {
			l := d.ready[0]
			head := l.queue[0]
			// Ask for the wake-up before reading the time, so a move of a
			// manual clock in between is not missed.
			wake, stop = clock.Wake(d.clock, head.due)
			if d.draining || !head.due.After(d.clock.Now()) {
				stop()
				heap.Pop(&d.ready)
				l.busy = true
				d.inFlight++
				return head, d.settings, true
			}
		}
		changed := d.changed
		d.mu.Unlock()
		select {
		case <-changed:
		case <-wake:
		case <-d.ctx.Done():
		}
		stop()
		d.mu.Lock()
	}
}

// outcome is what an attempt gave.
type outcome struct {
	attempt Attempt
	ok      bool
	cut     bool // ended by Close, not by the receiver
}

// attempt sends a delivery once.
func (d *Dispatcher) attempt(del *delivery, s Settings) outcome {
	at := d.clock.Now()
	ctx, cancel := context.WithTimeout(d.ctx, s.Timeout.Std())
	defer cancel()
	m := del.Message
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Target, bytes.NewReader(m.Body))
	if err != nil {
		return outcome{attempt: Attempt{At: at, Error: err.Error()}}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "contactbridge-twin-webhooks/1")
	for k, v := range m.Header {
		req.Header.Set(k, v)
	}
	if m.Signer != nil {
		if err := m.Signer.Sign(req.Header, m.Body, at); err != nil {
			return outcome{attempt: Attempt{At: at, Error: err.Error()}}
		}
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	latency := float64(time.Since(start).Microseconds()) / 1000
	if err != nil && d.ctx.Err() != nil {
		return outcome{cut: true}
	}
	if err != nil {
		reason := err.Error()
		if errors.Is(err, context.DeadlineExceeded) {
			reason = "no answer within " + s.Timeout.String()
		}
		return outcome{attempt: Attempt{At: at, LatencyMs: latency, Error: reason}}
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	a := Attempt{At: at, Status: resp.StatusCode, LatencyMs: latency, Response: strings.ToValidUTF8(string(head), "?")}
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if !ok {
		a.Error = "answered " + resp.Status
	}
	return outcome{attempt: a, ok: ok}
}

// finish records an attempt and moves the delivery's lane on; it returns
// the delivery as it now is, unless a reset cancelled it.
func (d *Dispatcher) finish(del *delivery, out outcome) (Delivery, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	defer d.broadcast()
	d.inFlight--
	l := del.lane
	l.busy = false
	if del.cancelled {
		return Delivery{}, false // reset while in flight: the lane is gone with it
	}
	if out.cut {
		// Shutdown ended the attempt, not the receiver: it does not count.
		l.parked = true
		return del.view(), true
	}
	del.Attempts = append(del.Attempts, out.attempt)
	s := d.settings
	switch {
	case out.ok:
		now := d.clock.Now()
		del.Status, del.DeliveredAt, del.LatencyMs, del.NextAttempt = StatusDelivered, &now, &out.attempt.LatencyMs, nil
		l.queue = l.queue[1:]
		d.archive(del)
		if !del.Duplicate && d.dice(del.EventID+"\x00"+del.Subscription) < s.Duplicates {
			dup := d.add(del.Message, "")
			dup.Duplicate, dup.due = true, now
			d.enqueue(dup, true)
		}
	case s.RetryPolicy == PolicyLive && (out.attempt.Status != http.StatusTooManyRequests || len(del.Attempts) > liveRetries):
		reason := out.attempt.Error + ": not retried (live retry policy)"
		if out.attempt.Status == http.StatusTooManyRequests {
			reason = out.attempt.Error + " after " + strconv.Itoa(liveRetries) + " retries (live retry policy)"
		}
		del.Status, del.Error, del.NextAttempt = StatusDropped, reason, nil
		l.queue = l.queue[1:]
		d.archive(del)
		d.log.Warn("webhook dropped by the live retry policy", logkey.Delivery, del.ID, logkey.Event, del.Event,
			logkey.EventID, del.EventID, logkey.Target, loggable(del.Target), logkey.Attempts, len(del.Attempts), logkey.Err, del.Error)
	case s.RetryPolicy == PolicyTwin && len(del.Attempts) >= s.Attempts:
		del.Status, del.Error, del.NextAttempt = StatusFailed, out.attempt.Error, nil
		l.queue = l.queue[1:]
		d.archive(del)
		d.log.Warn("webhook delivery failed after its last attempt", logkey.Delivery, del.ID, logkey.Event, del.Event,
			logkey.EventID, del.EventID, logkey.Target, loggable(del.Target), logkey.Attempts, len(del.Attempts), logkey.Err, del.Error)
	case d.draining:
		// The last attempt of a drain: the lane waits, in order, for the spool.
		l.parked = true
	default:
		wait := s.backoff(len(del.Attempts))
		if s.RetryPolicy == PolicyLive {
			wait = liveInterval + d.jitter("retry"+strconv.Itoa(len(del.Attempts)), del, liveJitter)
		}
		next := d.clock.Now().Add(wait)
		del.due, del.NextAttempt = next, &next
	}
	d.schedule(l)
	return del.view(), true
}

// dice returns a number in [0, 1) that depends only on the seed and key,
// so the same run throws the same dice whatever the workers' timing.
func (d *Dispatcher) dice(key string) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], d.seed)
	h.Write(b[:])
	h.Write([]byte(key))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// jitter is a seeded wait in [0, upTo) for del, one die per purpose.
func (d *Dispatcher) jitter(purpose string, del *delivery, upTo time.Duration) time.Duration {
	if upTo <= 0 {
		return 0
	}
	return time.Duration(math.Floor(d.dice(purpose+"\x00"+del.EventID+"\x00"+del.Subscription) * float64(upTo)))
}

// Reset cancels every pending delivery and clears the log, as the twin's
// reset does; it returns how many deliveries it cancelled.
func (d *Dispatcher) Reset() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, del := range d.order {
		if del.Status == StatusPending {
			del.cancelled = true
			n++
		}
	}
	d.byID, d.order, d.finished = map[string]*delivery{}, nil, 0
	d.lanes, d.ready = map[string]*lane{}, nil
	d.broadcast()
	if n > 0 {
		d.log.Info("reset cancelled pending webhook deliveries", logkey.Count, n)
	}
	return n
}

// Close stops the dispatcher. Sends are refused from then on; every pending
// delivery gets one last attempt at once, in order per resource, until ctx
// ends. What is still pending then is written to the spool, when there is
// one, or logged one by one: none is dropped silently. Later calls wait for
// the first and return its result.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.closeOnce.Do(func() { d.closeErr = d.close(ctx) })
	return d.closeErr
}

func (d *Dispatcher) close(ctx context.Context) error {
	d.mu.Lock()
	d.draining = true
	d.broadcast()
	d.mu.Unlock()

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.mu.Lock()
		d.stopped = true
		d.mu.Unlock()
		d.cancel() // ends the attempts in flight; their deliveries stay pending
		<-done
	}
	d.cancel()
	if d.ownsHTTP {
		d.client.CloseIdleConnections()
	}
	left, next := d.pending()
	return d.writeSpool(left, next)
}

// pending lists the pending deliveries lane by lane, each lane in its order,
// the lanes by their heads' creation, and the number the next delivery
// would take.
func (d *Dispatcher) pending() ([]*delivery, uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	lanes := slices.DeleteFunc(slices.Collect(maps.Values(d.lanes)), func(l *lane) bool { return len(l.queue) == 0 })
	slices.SortFunc(lanes, func(a, b *lane) int { return cmp.Compare(a.queue[0].seq, b.queue[0].seq) })
	var out []*delivery
	for _, l := range lanes {
		out = append(out, l.queue...)
	}
	return out, d.next
}
