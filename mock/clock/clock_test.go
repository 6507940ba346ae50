package clock_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
)

func TestSleep_ReturnsAtOnceForNoTimeOrAnEndedContext(t *testing.T) {
	t.Parallel()
	if err := clock.Sleep(context.Background(), 0); err != nil {
		t.Errorf("Sleep(0) = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := clock.Sleep(ctx, -time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(-1s) on an ended context = %v", err)
	}
	// An hour would time the test out: an ended context cuts it short.
	if err := clock.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Sleep(1h) on an ended context = %v", err)
	}
}
