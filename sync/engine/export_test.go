package engine

import "context"

// SetEntityWait tells f of each job that waits for another job of its
// entity (tests of the converger's serialization).
func (c *Converger) SetEntityWait(f func()) {
	c.entities.mu.Lock()
	defer c.entities.mu.Unlock()
	c.entities.waiting = func(string) { f() }
}

// RunEffects runs one batch of effects, keys in order, each made by create,
// through a new ledger of c (settled after it), and returns each one's id.
func (c *Converger) RunEffects(ctx context.Context, tenant string, keys []string, create func(key string) (string, error)) ([]string, error) {
	l := c.ledger()
	runs := make([]effectRun, len(keys))
	for i, k := range keys {
		runs[i] = effectRun{key: k, plan: c.planned(tenant, "test-lane", plan{key: k, flow: "test", op: "create-task"}),
			call: effectCall{create: func(context.Context) (string, int, error) {
				id, err := create(k)
				return id, 201, err
			}}}
	}
	out, err := c.runEffects(ctx, l, runs, false)
	if err != nil {
		return nil, err
	}
	if err := l.settle(ctx); err != nil {
		return nil, err
	}
	ids := make([]string, len(out))
	for i, r := range out {
		ids[i] = r.id
	}
	return ids, nil
}
