package engine

// SetEntityWait tells f of each job that waits for another job of its
// entity (tests of the converger's serialization).
func (c *Converger) SetEntityWait(f func()) {
	c.entities.mu.Lock()
	defer c.entities.mu.Unlock()
	c.entities.waiting = func(string) { f() }
}
