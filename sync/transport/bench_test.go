package transport

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/highlevelapi"
	"github.com/contactbridge/contactbridge/sync/internal/twintest"
	"github.com/contactbridge/contactbridge/sync/m360api"
)

// BenchmarkTransportOverhead lists contacts through the whole stack (auth,
// run-time validation, retry, limiter, log, timeout) and through a bare
// http.Client, against the same twin on loopback, in turns, and reports
// their throughput ratio (the goal: at least 0.85).
func BenchmarkTransportOverhead(b *testing.B) {
	w := twintest.New(b, twintest.Options{Listen: true, RealClock: true, Loose: true})
	url := w.HighLevelURL() + "/contacts/?locationId=" + w.Location() + "&limit=20"
	bare := &http.Client{Transport: w.Base()}
	stack := New(Config{Auth: &Bearer{Token: w.PIT(), Location: w.Location()}, Base: w.Base()}).Client()
	get := func(c *http.Client, auth bool) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set(highlevelapi.HeaderVersion, "2021-07-28")
		if auth {
			req.Header.Set("Authorization", "Bearer "+w.PIT())
		}
		res, err := c.Do(req)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatalf("%v %v", res, err)
		}
		res.Body.Close()
	}
	var bareTime, stackTime time.Duration
	for b.Loop() {
		t0 := time.Now()
		get(bare, true)
		t1 := time.Now()
		get(stack, false)
		bareTime += t1.Sub(t0)
		stackTime += time.Since(t1)
	}
	b.ReportMetric(float64(bareTime.Nanoseconds())/float64(b.N), "bare-ns/req")
	b.ReportMetric(float64(stackTime.Nanoseconds())/float64(b.N), "stack-ns/req")
	b.ReportMetric(bareTime.Seconds()/stackTime.Seconds(), "throughput-ratio")
}

// count429 counts the 429 answers under the stack.
type count429 struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *count429) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(req)
	if err == nil && res.StatusCode == http.StatusTooManyRequests {
		c.n.Add(1)
	}
	return res, err
}

// fullDemand makes n calls from workers goroutines and returns when the
// last one answered.
func fullDemand(b *testing.B, workers, n int, call func() error) time.Duration {
	b.Helper()
	start := time.Now()
	if errs := runAll(workers, n, call); len(errs) > 0 {
		b.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
	}
	return time.Since(start)
}

// warmUp makes one call, so that what a first request costs the twin and
// the client (schemas compiled on first use) is not measured, and waits
// for the quota it used to come back.
func warmUp(b *testing.B, quotaBack time.Duration, call func() error) {
	b.Helper()
	if err := call(); err != nil {
		b.Fatal(err)
	}
	time.Sleep(quotaBack)
	b.ResetTimer()
}

// BenchmarkQuotaUtilisationHighLevel runs a client at full demand against
// live limits scaled to 100 requests per 1 s window, for three windows and
// the first request of a fourth, and reports achieved ÷ allowed requests
// per second (the goal: at least 0.95) and the 429s (the goal: none).
func BenchmarkQuotaUtilisationHighLevel(b *testing.B) {
	const burst, windows = 100, 3
	interval := time.Second
	for b.Loop() {
		w := twintest.New(b, twintest.Options{Listen: true, RealClock: true, Loose: true, Burst: burst, Interval: interval})
		wire := &count429{base: w.Base()}
		stack := New(Config{Auth: &Bearer{Token: w.PIT(), Location: w.Location()}, Specs: []*openapi.Spec{w.HighLevelSpec()}, Base: wire})
		c, err := highlevelapi.New(w.HighLevelURL(), stack.Client())
		if err != nil {
			b.Fatal(err)
		}
		warmUp(b, interval, func() error { return listContacts(context.Background(), c, w.Location()) })
		// The last request is the first of window windows+1: it starts
		// when the quota of the first windows is surely used.
		elapsed := fullDemand(b, 20, burst*windows+1, func() error { return listContacts(context.Background(), c, w.Location()) })
		allowed := float64(burst) / interval.Seconds()
		b.ReportMetric(float64(burst*windows)/elapsed.Seconds()/allowed, "utilisation")
		b.ReportMetric(float64(wire.n.Load()), "429s")
	}
}

// BenchmarkQuotaUtilisationM360 runs a client at full demand against a
// leaky bucket of 50 per second (capacity 50) for about six seconds, and
// reports the requests done ÷ the requests the bucket allowed in that
// time (its capacity at once, then its rate), and the 429s.
func BenchmarkQuotaUtilisationM360(b *testing.B) {
	const rate, seconds = 50, 6
	for b.Loop() {
		w := twintest.New(b, twintest.Options{Listen: true, RealClock: true, Loose: true, M360PerSecond: rate, M360Capacity: rate})
		wire := &count429{base: w.Base()}
		id, secret := w.M360Key()
		stack := New(Config{Auth: &Basic{ClientID: id, ClientSecret: secret}, Specs: []*openapi.Spec{w.M360Spec()}, Base: wire})
		c, err := m360api.New(w.M360URL(), stack.Client())
		if err != nil {
			b.Fatal(err)
		}
		call := func() error {
			_, err := m360api.OK(c.M360GetAccountWithResponse(context.Background()))
			return err
		}
		warmUp(b, time.Second, call)
		const n = rate + rate*seconds
		elapsed := fullDemand(b, 20, n, call)
		b.ReportMetric(n/(rate+rate*elapsed.Seconds()), "utilisation")
		b.ReportMetric(float64(wire.n.Load()), "429s")
	}
}
