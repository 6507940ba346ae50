package webhooks

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/contactbridge/contactbridge/internal/logkey"
)

// loggable is a target URL fit for the log: without the user info and
// query, which may carry a receiver's credentials.
func loggable(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User("…")
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

// spooled is a pending delivery as the spool file holds it, one JSON object
// a line: the message with its signer, and what was tried.
type spooled struct {
	Message
	Signer       *spooledSigner `json:"signer,omitempty"`
	ID           string         `json:"id"`
	Attempts     []Attempt      `json:"attempts"`
	CreatedAt    time.Time      `json:"createdAt"`
	Duplicate    bool           `json:"duplicate,omitempty"`
	RedeliveryOf string         `json:"redeliveryOf,omitempty"`
	// Next is the number the writing run's next delivery would have had:
	// the reading run numbers its deliveries after it.
	Next uint64 `json:"next"`
}

// spooledSigner is a message's signer as the spool keeps it: the
// dispatcher's keys, or an HMAC with its secret.
type spooledSigner struct {
	Keys bool  `json:"keys,omitempty"`
	HMAC *HMAC `json:"hmac,omitempty"`
}

// spoolSigner is how the spool keeps s; only the dispatcher's keys and an
// HMAC can be kept.
func spoolSigner(s Signer, keys *Keys) (*spooledSigner, error) {
	switch s := s.(type) {
	case nil:
		return nil, nil
	case *Keys:
		if s == keys {
			return &spooledSigner{Keys: true}, nil
		}
	case HMAC:
		return &spooledSigner{HMAC: &s}, nil
	}
	return nil, fmt.Errorf("webhooks: a %T signer cannot be spooled", s)
}

// signer is the signer sp keeps; nil for none.
func (sp *spooledSigner) signer(keys *Keys) Signer {
	switch {
	case sp == nil:
		return nil
	case sp.Keys:
		return keys
	case sp.HMAC != nil:
		return *sp.HMAC
	}
	return nil
}

// readSpool queues the deliveries the spool holds, due at once. The file
// stays until Close writes it again, so a crash before then loses nothing.
func (d *Dispatcher) readSpool() error {
	if d.spool == "" {
		return nil
	}
	f, err := os.Open(d.spool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhooks: spool: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clock.Now()
	line := 0
	for sc.Scan() {
		line++
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var sp spooled
		if err := json.Unmarshal(sc.Bytes(), &sp); err != nil {
			return fmt.Errorf("webhooks: spool %s:%d: %w", d.spool, line, err)
		}
		sp.Message.Signer = sp.Signer.signer(d.keys)
		del := d.add(sp.Message, sp.RedeliveryOf)
		// Keep the spooled id, and number new ones after the writing run's.
		if n, err := strconv.ParseUint(strings.TrimPrefix(sp.ID, "wh_"), 10, 64); err == nil && sp.ID != "" {
			delete(d.byID, del.ID)
			del.ID = sp.ID
			d.byID[del.ID] = del
			d.next = max(d.next-1, n, sp.Next) // the number add took is not used

		}
		if sp.Attempts != nil {
			del.Attempts = sp.Attempts
		}
		del.CreatedAt, del.Duplicate, del.due = sp.CreatedAt, sp.Duplicate, now
		d.enqueue(del, false)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("webhooks: spool %s: %w", d.spool, err)
	}
	if n := len(d.order); n > 0 {
		d.log.Info("webhook deliveries read from the spool", logkey.Count, n, logkey.Spool, d.spool)
	}
	return nil
}

// writeSpool keeps the pending deliveries: in the spool file when there is
// one (removed when nothing is pending), else, or when the file cannot be
// written, in the log, one by one. next is the number the next delivery
// would have had.
func (d *Dispatcher) writeSpool(left []*delivery, next uint64) error {
	if d.spool == "" {
		if len(left) > 0 {
			d.log.Error("webhook deliveries still pending at shutdown, not delivered (set a spool file to keep them)", logkey.Count, len(left))
			d.logUndelivered(left)
		}
		return nil
	}
	if len(left) == 0 {
		if err := os.Remove(d.spool); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("webhooks: spool: %w", err)
		}
		return nil
	}
	if err := d.saveSpool(left, next); err != nil {
		d.log.Error("webhook deliveries still pending at shutdown could not be spooled", logkey.Count, len(left), logkey.Err, err)
		d.logUndelivered(left)
		return err
	}
	d.log.Info("webhook deliveries still pending at shutdown written to the spool", logkey.Count, len(left), logkey.Spool, d.spool)
	return nil
}

func (d *Dispatcher) logUndelivered(left []*delivery) {
	for _, del := range left {
		d.log.Warn("undelivered webhook", logkey.Delivery, del.ID, logkey.Event, del.Event, logkey.EventID, del.EventID,
			logkey.Target, loggable(del.Target), logkey.Attempts, len(del.Attempts))
	}
}

// saveSpool writes the spool aside and renames it into place, so a crash
// midway leaves the old one, readable by its owner only: it holds secrets.
func (d *Dispatcher) saveSpool(left []*delivery, next uint64) error {
	return writeFileAtomic(d.spool, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		for _, del := range left {
			signer, err := spoolSigner(del.Signer, d.keys)
			if err != nil {
				return err
			}
			sp := spooled{Message: del.Message, Signer: signer, ID: del.ID, Attempts: del.Attempts,
				CreatedAt: del.CreatedAt, Duplicate: del.Duplicate, RedeliveryOf: del.RedeliveryOf, Next: next}
			if err := enc.Encode(sp); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeFileAtomic writes path through a temporary file of mode 0600 in its
// folder, renamed into place once complete.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("webhooks: write %s: %w", path, err)
	}
	w := bufio.NewWriter(tmp)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("webhooks: write %s: %w", path, err)
	}
	return nil
}
