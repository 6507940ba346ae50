package transport

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestUserAgentAndLogLeaveTheRequestAlone(t *testing.T) {
	var logs strings.Builder
	var got *http.Request
	rt := &UserAgent{Agent: "contactbridge/1.2.3", Base: &Log{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r
			return response(200, nil, ""), nil
		}),
	}}
	req, _ := http.NewRequest(http.MethodGet, "http://u:pw@api.test/oauth/x?code=c0de&refresh_token=r3fresh&page=2", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	if _, err := rt.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("User-Agent") != "contactbridge/1.2.3" || req.Header.Get("User-Agent") != "" {
		t.Errorf("User-Agent sent %q, caller's %q", got.Header.Get("User-Agent"), req.Header.Get("User-Agent"))
	}
	for _, secret := range []string{"c0de", "r3fresh", "s3cret", "pw"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log shows %q: %s", secret, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "page=2") || !strings.Contains(logs.String(), "status=200") {
		t.Errorf("log %q lacks the request", logs.String())
	}
	if !strings.HasPrefix(DefaultUserAgent(), "contactbridge/") {
		t.Errorf("DefaultUserAgent() = %q", DefaultUserAgent())
	}
}

func TestTimeoutBoundsAnAttempt(t *testing.T) {
	var deadline time.Time
	var done <-chan struct{}
	rt := &Timeout{Timeout: time.Hour, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		deadline, _ = r.Context().Deadline()
		done = r.Context().Done()
		return response(200, nil, "ok"), nil
	})}
	req, _ := http.NewRequest(http.MethodGet, "http://api.test/", nil)
	res, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if until := time.Until(deadline); until <= 0 || until > time.Hour {
		t.Errorf("deadline in %s, want within the hour", until)
	}
	select {
	case <-done:
		t.Fatal("the attempt's context ended before its body was closed")
	default:
	}
	res.Body.Close()
	select {
	case <-done:
	default:
		t.Error("closing the body did not end the attempt's context")
	}
}

func TestRedactURL(t *testing.T) {
	u, _ := url.Parse("https://api.test/cb?state=s&code=abc")
	if got := RedactURL(u); got != "https://api.test/cb?code=REDACTED&state=s" {
		t.Errorf("RedactURL = %q", got)
	}
}
