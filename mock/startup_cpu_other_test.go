//go:build !unix

package mock_test

import (
	"testing"
	"time"
)

// processCPU is 0: the process's CPU time is read on unix only.
func processCPU(*testing.B) time.Duration { return 0 }
