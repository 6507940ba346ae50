package webhooks

// Lanes keep delivery in order: a subscription's deliveries about one
// resource go one at a time, and idle lanes wait in a heap by when their
// head is due.

// lane holds one subscription's deliveries about one resource, in order.
type lane struct {
	key   string
	queue []*delivery
	busy  bool // its head is being attempted
	// parked: its head failed its last attempt of a drain; the lane waits,
	// in order, for the spool.
	parked bool
	index  int // in the ready heap; -1 when not there
}

// laneHeap orders idle lanes by when their head is due, then by the head's
// creation.
type laneHeap []*lane

func (h laneHeap) Len() int { return len(h) }
func (h laneHeap) Less(i, j int) bool {
	a, b := h[i].queue[0], h[j].queue[0]
	if c := a.due.Compare(b.due); c != 0 {
		return c < 0
	}
	return a.seq < b.seq
}
func (h laneHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *laneHeap) Push(x any) {
	l := x.(*lane)
	l.index = len(*h)
	*h = append(*h, l)
}
func (h *laneHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = nil
	l.index = -1
	*h = old[:len(old)-1]
	return l
}
