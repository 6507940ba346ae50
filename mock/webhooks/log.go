package webhooks

import (
	"fmt"
	"slices"
)

// The delivery log: what became of each delivery, kept for the admin API.

// archive counts a delivery as finished and drops the oldest finished ones
// beyond the log's size, in batches. Callers hold mu.
func (d *Dispatcher) archive(*delivery) {
	d.finished++
	if d.finished <= d.logSize+d.logSize/4 {
		return
	}
	drop := d.finished - d.logSize
	d.order = slices.DeleteFunc(d.order, func(x *delivery) bool {
		if drop > 0 && x.Status != StatusPending {
			drop--
			delete(d.byID, x.ID)
			return true
		}
		return false
	})
	d.finished = d.logSize
}

func (del *delivery) view() Delivery {
	v := del.Delivery
	v.Attempts = slices.Clone(v.Attempts)
	if v.Status == StatusPending && !del.due.IsZero() {
		due := del.due
		v.NextAttempt = &due
	}
	return v
}

// Deliveries returns the logged deliveries f selects, newest first, and how
// many it selects in all.
func (d *Dispatcher) Deliveries(f Filter) ([]Delivery, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := []Delivery{}
	total := 0
	for i := len(d.order) - 1; i >= 0; i-- {
		del := d.order[i]
		if !f.match(&del.Delivery) {
			continue
		}
		total++
		if f.Limit <= 0 || len(out) < f.Limit {
			out = append(out, del.view())
		}
	}
	return out, total
}

// Delivery returns a logged delivery.
func (d *Dispatcher) Delivery(id string) (Delivery, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	del, ok := d.byID[id]
	if !ok {
		return Delivery{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return del.view(), nil
}

// Stats counts the logged deliveries by status.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	var s Stats
	for _, del := range d.order {
		switch del.Status {
		case StatusPending:
			s.Pending++
		case StatusDelivered:
			s.Delivered++
		case StatusFailed:
			s.Failed++
		case StatusInvalid:
			s.Invalid++
		case StatusDropped:
			s.Dropped++
		}
	}
	return s
}
