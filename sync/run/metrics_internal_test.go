package run

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// failing is a collector whose every collection fails, as a database read
// past scrapeTimeout does.
type failing struct{ desc *prometheus.Desc }

func (f failing) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f failing) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.NewInvalidMetric(f.desc, errors.New("context deadline exceeded"))
}

// TestMetrics_AFailingCollectorCostsOnlyItsOwn: a scrape with one
// collector failing answers 200 with the other metrics, and logs the
// failure.
func TestMetrics_AFailingCollectorCostsOnlyItsOwn(t *testing.T) {
	m := newMetrics()
	m.limited.WithLabelValues("hl").Add(3)
	m.reg.MustRegister(failing{desc: prometheus.NewDesc("contactbridge_test_failing", "fails", nil, nil)})
	var logged bytes.Buffer
	rec := httptest.NewRecorder()
	m.handler(slog.New(slog.NewTextHandler(&logged, nil))).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, PathMetrics, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	if rec.Code != http.StatusOK || !strings.Contains(string(body), `contactbridge_sync_api_rate_limited_total{api="hl"} 3`) {
		t.Errorf("scrape: %d\n%s", rec.Code, body)
	}
	if !strings.Contains(logged.String(), "context deadline exceeded") {
		t.Errorf("the failure is not logged: %q", logged.String())
	}
}
