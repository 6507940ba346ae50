package pipeline

import (
	"strconv"
	"testing"
)

func TestAcceptedMemo_IsBounded(t *testing.T) {
	t.Parallel()
	m := newAcceptedMemo()
	for i := range maxAccepted + 1 {
		m.accept(strconv.Itoa(i))
	}
	if n := len(m.seen); n > maxAccepted || !m.accepted(strconv.Itoa(maxAccepted)) {
		t.Errorf("%d remembered (at most %d), the last one among them: %v", n, maxAccepted, m.accepted(strconv.Itoa(maxAccepted)))
	}
}
