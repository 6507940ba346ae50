package state

import (
	"context"
	"sync"
)

// BatchRows is batchRows, for the tests of the batches at their cap.
const BatchRows = batchRows

// Group runs fns as the members of one group, in order, each on its
// context, and returns what each member's Tx returned.
func (d *DB) Group(ctxs []context.Context, fns []func(*Tx) error) []error {
	members := make([]*member, len(fns))
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		members[i] = newMember(ctxs[i], fn)
		wg.Go(func() { errs[i] = members[i].await() })
	}
	d.cm.group(members[0], func(n int) *member {
		if n >= len(members) {
			return nil
		}
		return members[n]
	})
	wg.Wait()
	return errs
}
