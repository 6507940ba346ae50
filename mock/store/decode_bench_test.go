package store_test

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"

	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/store"
)

// The start-up benchmarks run only with -bench:
//
//	go test -run '^$' -bench 'State100k' -benchtime 3x ./mock/store/
//
// Their state is the fixtures scenario "large" without its Marketing 360
// side (100,000 contacts, 200,000 tasks, 200,000 notes), as the harness's
// at-scale step loads it.

var (
	largeOnce  sync.Once
	largeState []byte
	largeErr   error
)

// largeStateJSON is the encoded state, made once per test binary.
func largeStateJSON(b *testing.B) []byte {
	b.Helper()
	largeOnce.Do(func() {
		o, err := fixtures.Scenario("large")
		if err != nil {
			largeErr = err
			return
		}
		o.LinkedShare, o.M360Contacts = 0, 0
		ds, err := fixtures.Generate(o)
		if err != nil {
			largeErr = err
			return
		}
		largeState, largeErr = json.Marshal(ds.State)
	})
	if largeErr != nil {
		b.Fatal(largeErr)
	}
	return largeState
}

// BenchmarkDecodeState100k decodes the state as mock --state does.
func BenchmarkDecodeState100k(b *testing.B) {
	data := largeStateJSON(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		st, err := store.DecodeState(bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Contacts) != 100_000 || len(st.Tasks) != 200_000 || len(st.Notes) != 200_000 {
			b.Fatalf("decoded %d contacts, %d tasks, %d notes", len(st.Contacts), len(st.Tasks), len(st.Notes))
		}
	}
}

// BenchmarkRestoreState100k builds a store from the decoded state.
func BenchmarkRestoreState100k(b *testing.B) {
	st, err := store.DecodeState(bytes.NewReader(largeStateJSON(b)), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := store.New(clock.NewManual(t0), store.NewIDs(1))
		if err := s.Restore(st); err != nil {
			b.Fatal(err)
		}
		if n := s.Stats().Contacts; n != 100_000 {
			b.Fatalf("restored %d contacts", n)
		}
	}
}
