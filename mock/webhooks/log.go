package webhooks

import (
	"fmt"
	"maps"
	"slices"
)

// The delivery log: what became of each delivery, kept for the admin API.

// archive counts a delivery as finished and, past the log's size, drops
// finished deliveries, in batches, fairly: every subscription keeps an equal
// share of the log (more when others need less), so a storm of one
// subscription drops its own deliveries and never wipes another's. Within a
// subscription the oldest go first, the deliveries that did not fail before
// those that did. Callers hold mu.
func (d *Dispatcher) archive(*delivery) {
	d.finished++
	if d.finished <= d.logSize+d.logSize/4 {
		return
	}
	// Each subscription's finished deliveries, oldest first.
	bySub := map[string][]*delivery{}
	for _, x := range d.order {
		if x.Status != StatusPending {
			k := x.Twin + "/" + x.Subscription
			bySub[k] = append(bySub[k], x)
		}
	}
	drop := map[*delivery]bool{}
	for k, keep := range fairShares(bySub, d.logSize) {
		list := bySub[k]
		excess := len(list) - keep
		for _, failed := range []bool{false, true} {
			for _, x := range list {
				if excess > 0 && (x.Status == StatusFailed) == failed {
					drop[x] = true
					excess--
				}
			}
		}
	}
	d.order = slices.DeleteFunc(d.order, func(x *delivery) bool {
		if drop[x] {
			delete(d.byID, x.ID)
			return true
		}
		return false
	})
	d.finished -= len(drop)
}

// fairShares splits size among the groups of bySub: each keeps at most
// share of its deliveries, the share as large as size allows, and what the
// groups under it leave goes to the others one by one, in key order.
func fairShares(bySub map[string][]*delivery, size int) map[string]int {
	keys := slices.Sorted(maps.Keys(bySub))
	kept := func(share int) int {
		n := 0
		for _, k := range keys {
			n += min(len(bySub[k]), share)
		}
		return n
	}
	// The largest share whose total fits in size (binary search: kept
	// grows with share).
	lo, hi := 0, size
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if kept(mid) <= size {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	out := make(map[string]int, len(keys))
	left := size - kept(lo)
	for _, k := range keys {
		out[k] = min(len(bySub[k]), lo)
		if left > 0 && len(bySub[k]) > lo {
			out[k]++
			left--
		}
	}
	return out
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
