package transport

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Quota is what an answer's headers tell about its tenant's quota.
type Quota struct {
	// Bucket is set for a leaky bucket (Marketing 360), which drains Limit
	// requests per Interval; else the quota is a window of Limit requests
	// per Interval that opens with its first request (HighLevel).
	Bucket bool
	// Limit requests per Interval; Remaining of them left now.
	Limit, Remaining int
	Interval         time.Duration
	// Daily and DailyRemaining are the daily quota, when HasDaily.
	HasDaily              bool
	Daily, DailyRemaining int
}

// QuotaFunc reads the quota from an answer's headers; false when they carry
// none.
type QuotaFunc func(h http.Header) (Quota, bool)

// HighLevel's quota headers.
const (
	HeaderRateLimitMax        = "X-RateLimit-Max"
	HeaderRateLimitRemaining  = "X-RateLimit-Remaining"
	HeaderRateLimitInterval   = "X-RateLimit-Interval-Milliseconds"
	HeaderRateLimitDaily      = "X-RateLimit-Limit-Daily"
	HeaderRateLimitDailyLeft  = "X-RateLimit-Daily-Remaining"
	HeaderM360RateLimit       = "X-Rate-Limit-Limit"
	HeaderM360RateRemaining   = "X-Rate-Limit-Remaining"
	HeaderRetryAfter          = "Retry-After"
	defaultHighLevelInterval  = 10 * time.Second
	defaultMarketing360Period = time.Second
)

// HighLevelQuota reads X-RateLimit-Max, -Remaining and
// -Interval-Milliseconds (10 s when absent), and the daily
// X-RateLimit-Limit-Daily and -Daily-Remaining.
func HighLevelQuota(h http.Header) (Quota, bool) {
	limit, err1 := headerInt(h, HeaderRateLimitMax)
	rem, err2 := headerInt(h, HeaderRateLimitRemaining)
	if err1 != nil || err2 != nil || limit <= 0 {
		return Quota{}, false
	}
	q := Quota{Limit: limit, Remaining: rem, Interval: defaultHighLevelInterval}
	if ms, err := headerInt(h, HeaderRateLimitInterval); err == nil && ms > 0 {
		q.Interval = time.Duration(ms) * time.Millisecond
	}
	daily, err1 := headerInt(h, HeaderRateLimitDaily)
	left, err2 := headerInt(h, HeaderRateLimitDailyLeft)
	if err1 == nil && err2 == nil {
		q.HasDaily, q.Daily, q.DailyRemaining = true, daily, left
	}
	return q, true
}

// Marketing360Quota reads X-Rate-Limit-Limit and -Remaining: a leaky
// bucket that drains its limit every second, as Marketing 360 documents
// ("5 requests per second").
func Marketing360Quota(h http.Header) (Quota, bool) {
	limit, err1 := headerInt(h, HeaderM360RateLimit)
	rem, err2 := headerInt(h, HeaderM360RateRemaining)
	if err1 != nil || err2 != nil || limit <= 0 {
		return Quota{}, false
	}
	return Quota{Bucket: true, Limit: limit, Remaining: rem, Interval: defaultMarketing360Period}, true
}

func headerInt(h http.Header, name string) (int, error) {
	return strconv.Atoi(strings.TrimSpace(h.Get(name)))
}

// RetryAfter reads Retry-After, in seconds or as an HTTP date; false when
// absent or unreadable.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(HeaderRetryAfter))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(max(s, 0)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
