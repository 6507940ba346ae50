// Package receiver is the sync's webhook endpoints, for HighLevel and for
// Marketing 360. Each verifies the signature on the raw body, reads the
// event, and in one transaction stores it in the inbox (once per event id)
// and enqueues the converge job of the entity it is about; only then does
// it answer 200. A bad or missing signature is answered 401 and nothing is
// stored.
package receiver

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/state"
)

// Paths of Handler.
const (
	PathHighLevel = "/webhooks/highlevel"
	PathM360      = "/webhooks/m360"
)

// Defaults of Config.
const (
	DefaultMaxBody         = 1 << 20
	DefaultTolerance       = 5 * time.Minute
	DefaultHighLevelMaxAge = 2 * time.Hour
)

// ErrInvalidConfig is wrapped by every error a bad Config gives.
var ErrInvalidConfig = errors.New("receiver: invalid config")

// Errors of a request, mapped to statuses by status.
var (
	errTooLarge = errors.New("receiver: body too large")
	errStale    = errors.New("receiver: event too old or from the future")
	errMethod   = errors.New("receiver: not a POST")
	errStore    = errors.New("receiver: not stored")
)

// Enqueuer enqueues a job in a transaction (engine.Queue does).
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *state.Tx, args engine.Args) (engine.Enqueued, error)
}

// Config configures a Receiver. DB, Queue and the keys of the APIs served
// are required; other zero fields take defaults.
type Config struct {
	DB    *state.DB
	Queue Enqueuer
	// HighLevelKey verifies x-ghl-signature; HighLevelRSA, when set,
	// accepts a body whose x-wh-signature verifies with it instead.
	HighLevelKey ed25519.PublicKey
	HighLevelRSA *rsa.PublicKey
	// M360Secrets are the subscriptions' secrets; a signature made with
	// any of them is accepted.
	M360Secrets []string
	// Tolerance is how far from now a Marketing 360 signature's time may
	// be, and how far in the future a HighLevel event's timestamp (default
	// 5m). A Marketing 360 signature outside it is a replay.
	Tolerance time.Duration
	// HighLevelMaxAge is how old a HighLevel event's timestamp may be
	// (default 2h: HighLevel retries after a 429 for about 70 minutes, with
	// the event's first timestamp). Within it, the inbox keeps each
	// webhookId once.
	HighLevelMaxAge time.Duration
	// MaxBody is the largest body read (default 1 MiB); larger is 413.
	MaxBody int64
	// Now gives the time (nil: time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Receiver serves the webhook endpoints.
type Receiver struct {
	cfg    Config
	log    *slog.Logger
	counts counters
}

// New checks cfg and makes a Receiver.
func New(cfg Config) (*Receiver, error) {
	switch {
	case cfg.DB == nil || cfg.Queue == nil:
		return nil, fmt.Errorf("%w: DB and Queue are required", ErrInvalidConfig)
	case cfg.HighLevelKey == nil && len(cfg.M360Secrets) == 0:
		return nil, fmt.Errorf("%w: no HighLevel key and no Marketing 360 secret: nothing could be verified", ErrInvalidConfig)
	case cfg.HighLevelKey != nil && len(cfg.HighLevelKey) != ed25519.PublicKeySize:
		return nil, fmt.Errorf("%w: HighLevelKey is not an Ed25519 public key", ErrInvalidConfig)
	}
	for _, s := range cfg.M360Secrets {
		if s == "" {
			return nil, fmt.Errorf("%w: an empty Marketing 360 secret", ErrInvalidConfig)
		}
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.HighLevelMaxAge <= 0 {
		cfg.HighLevelMaxAge = DefaultHighLevelMaxAge
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Receiver{cfg: cfg, log: cfg.Logger.With("component", "receiver")}, nil
}

// Handler serves HighLevel webhooks at PathHighLevel and Marketing 360
// ones at PathM360.
func (r *Receiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathHighLevel, r.HighLevel())
	mux.Handle(PathM360, r.M360())
	return mux
}

// HighLevel returns the HighLevel webhook endpoint. Without a HighLevel
// key, it refuses every delivery (401).
func (r *Receiver) HighLevel() http.Handler {
	return r.endpoint(api{side: SideHighLevel, source: state.SourceHighLevelWebhook,
		// 429 is the only status HighLevel retries after.
		retryStatus: http.StatusTooManyRequests,
		verify: func(h http.Header, body []byte) error {
			if r.cfg.HighLevelKey == nil {
				return fmt.Errorf("%w: no HighLevel key configured", errSignature)
			}
			return verifyHighLevel(h, body, r.cfg.HighLevelKey, r.cfg.HighLevelRSA)
		},
		parse: func(body []byte) (event, error) {
			e, err := parseHighLevel(body)
			if err != nil || e.At.IsZero() {
				return e, err
			}
			if age := r.cfg.Now().Sub(e.At); age > r.cfg.HighLevelMaxAge || age < -r.cfg.Tolerance {
				return e, fmt.Errorf("%w: timestamp %s is %s old", errStale, e.At.Format(time.RFC3339), age.Round(time.Second))
			}
			return e, nil
		}})
}

// M360 returns the Marketing 360 webhook endpoint.
func (r *Receiver) M360() http.Handler {
	return r.endpoint(api{side: SideM360, source: state.SourceM360Webhook,
		retryStatus: http.StatusServiceUnavailable,
		verify: func(h http.Header, body []byte) error {
			return verifyM360(h.Get(HeaderM360), body, r.cfg.M360Secrets, r.cfg.Now(), r.cfg.Tolerance)
		},
		parse: parseM360})
}

// api is what differs between the endpoints.
type api struct {
	side, source string
	// retryStatus answers a delivery that could not be stored, so that the
	// sender tries again.
	retryStatus int
	verify      func(http.Header, []byte) error
	parse       func([]byte) (event, error)
}

// Results of a stored delivery, in the answer's body.
const (
	resultStored    = "stored"
	resultDuplicate = "duplicate"
	resultIgnored   = "ignored"
)

func (r *Receiver) endpoint(a api) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		log := r.log.With(logkey.API, a.side)
		result, e, err := r.receive(req, a)
		if err != nil {
			r.counts.count(err)
			code := status(err, a)
			log.WarnContext(req.Context(), "webhook refused", logkey.Status, code, logkey.Event, e.Type,
				logkey.EventID, e.ID, logkey.Err, err)
			if code == a.retryStatus {
				w.Header().Set("Retry-After", "5")
			}
			http.Error(w, http.StatusText(code), code)
			return
		}
		log.InfoContext(req.Context(), "webhook "+result, logkey.Event, e.Type, logkey.EventID, e.ID,
			logkey.Tenant, e.Tenant, logkey.Kind, e.Kind, logkey.Entity, e.EntityID)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"result": result})
	})
}

// receive reads, verifies, parses and stores one delivery.
func (r *Receiver) receive(req *http.Request, a api) (string, event, error) {
	if req.Method != http.MethodPost {
		return "", event{}, errMethod
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, req.Body, r.cfg.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return "", event{}, fmt.Errorf("%w: over %d bytes", errTooLarge, r.cfg.MaxBody)
		}
		return "", event{}, fmt.Errorf("%w: read body: %w", errMalformed, err)
	}
	if err := a.verify(req.Header, body); err != nil {
		return "", event{}, err
	}
	e, err := a.parse(body)
	if err != nil {
		return "", e, err
	}
	result, err := r.store(req.Context(), a, e, body)
	if err != nil {
		return "", e, fmt.Errorf("%w: %w", errStore, err)
	}
	return result, e, nil
}

// store writes the inbox row and, for a new known event, enqueues its
// converge job, in one transaction.
func (r *Receiver) store(ctx context.Context, a api, e event, body []byte) (string, error) {
	row := state.InboxEvent{Source: a.source, EventID: e.ID, Tenant: e.Tenant, Type: e.Type, EntityKind: e.Kind,
		EntityID: e.EntityID, EntityVersion: e.Version, ReceivedAt: r.cfg.Now(), Body: body, State: state.InboxNew}
	if !e.known() {
		row.State = state.InboxIgnored
	}
	var result string
	var job engine.Enqueued
	err := r.cfg.DB.Tx(ctx, func(tx *state.Tx) error {
		inserted, err := tx.InsertInbox(ctx, row)
		switch {
		case err != nil:
			return err
		case !inserted:
			result = resultDuplicate
			return nil
		case !e.known():
			result = resultIgnored
			return nil
		}
		result = resultStored
		job, err = r.cfg.Queue.Enqueue(ctx, tx, engine.Converge{Side: a.side, EntityKind: e.Kind, Tenant: e.Tenant, ID: e.EntityID,
			Parent: e.Parent})
		return err
	})
	if err != nil {
		return "", err
	}
	switch result {
	case resultDuplicate:
		r.counts.duplicates.Add(1)
	case resultIgnored:
		r.counts.received.Add(1)
		r.counts.unknown.Add(1)
	default:
		r.counts.received.Add(1)
		if job.Duplicate {
			r.counts.coalesced.Add(1)
		} else {
			r.counts.enqueued.Add(1)
		}
	}
	return result, nil
}

// status is the one place that maps a refusal to its HTTP status.
func status(err error, a api) int {
	switch {
	case errors.Is(err, errSignature), errors.Is(err, errStale):
		return http.StatusUnauthorized
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errMalformed):
		return http.StatusBadRequest
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed
	default:
		return a.retryStatus
	}
}

// Counts are the receiver's counters since it was made.
type Counts struct {
	// Received counts deliveries stored as new events (unknown ones too).
	Received int64
	// Duplicates counts deliveries of an event stored already.
	Duplicates int64
	// Unknown counts new events of a type the sync does not act on.
	Unknown int64
	// JobsEnqueued and JobsCoalesced count the new events whose converge
	// job was new, or joined one waiting for the same entity.
	JobsEnqueued, JobsCoalesced int64
	// Refusals: BadSignature (missing, wrong, or a replay outside the
	// tolerance), Stale (a HighLevel timestamp out of range), Malformed
	// (signed but not an event), TooLarge, StoreFailed (answered so that
	// the sender retries), WrongMethod (not a POST).
	BadSignature, Stale, Malformed, TooLarge, StoreFailed, WrongMethod int64
}

type counters struct {
	received, duplicates, unknown, enqueued, coalesced                 atomic.Int64
	badSignature, stale, malformed, tooLarge, storeFailed, wrongMethod atomic.Int64
}

func (c *counters) count(err error) {
	switch {
	case errors.Is(err, errSignature):
		c.badSignature.Add(1)
	case errors.Is(err, errStale):
		c.stale.Add(1)
	case errors.Is(err, errTooLarge):
		c.tooLarge.Add(1)
	case errors.Is(err, errMalformed):
		c.malformed.Add(1)
	case errors.Is(err, errStore):
		c.storeFailed.Add(1)
	case errors.Is(err, errMethod):
		c.wrongMethod.Add(1)
	}
}

// Counts returns the counters.
func (r *Receiver) Counts() Counts {
	c := &r.counts
	return Counts{Received: c.received.Load(), Duplicates: c.duplicates.Load(), Unknown: c.unknown.Load(),
		JobsEnqueued: c.enqueued.Load(), JobsCoalesced: c.coalesced.Load(), BadSignature: c.badSignature.Load(),
		Stale: c.stale.Load(), Malformed: c.malformed.Load(), TooLarge: c.tooLarge.Load(), StoreFailed: c.storeFailed.Load(),
		WrongMethod: c.wrongMethod.Load()}
}
