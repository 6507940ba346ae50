//go:build pact

package contract

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
)

func pactFile(provider string) string {
	return filepath.Join(pactDir, PactFileName(provider))
}

// highLevelTwinStates are the HighLevel states on the twins: restricted
// credentials minted and the rate limit switched through the admin API.
func highLevelTwinStates(t *testing.T, w *twins) States {
	t.Helper()
	s, err := HighLevelStates(HighLevelAccount{
		BaseURL: w.highLevelURL, Token: w.token, LocationID: w.location, CalendarID: w.calendar,
		ReadOnlyToken:   mintToken(t, w.highLevelURL, w.location, "contacts.readonly"),
		OtherLocationID: w.otherLocation, OtherToken: w.otherToken,
		Limit: highLevelLimit(w),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verify(t *testing.T, provider, baseURL string, states States) *Report {
	t.Helper()
	rep, err := Verify(context.Background(), VerifyOptions{
		Provider: provider, BaseURL: baseURL, PactFiles: []string{pactFile(provider)}, States: states,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// m360TwinStates are the Marketing 360 states on the twins.
func m360TwinStates(t *testing.T, w *twins) States {
	t.Helper()
	id, secret := mintM360Key(t, w.highLevelURL, w.m360Account, "contacts:read")
	s, err := M360States(M360Account{
		BaseURL: w.m360URL, ClientID: w.m360ID, ClientSecret: w.m360Secret,
		ReadOnlyID: id, ReadOnlySecret: secret, Limit: m360Limit(w),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Both twins keep their pacts, and verification leaves nothing behind.
func TestProvider_Twins(t *testing.T) {
	w := startTwins(t, twinOptions{})
	for _, tc := range []struct {
		provider, url string
		states        States
	}{
		{ProviderHighLevel, w.highLevelURL, highLevelTwinStates(t, w)},
		{ProviderM360, w.m360URL, m360TwinStates(t, w)},
	} {
		rep := verify(t, tc.provider, tc.url, tc.states)
		if !rep.Passed {
			t.Fatalf("the %s twin fails its pact:\n%s", tc.provider, rep.Output)
		}
		for _, c := range rep.Cases {
			if c.Failure != "" {
				t.Errorf("%s: %s", c.Description, c.Failure)
			}
		}
	}
	noLeftovers(t, w, "verification")
}

// twinLimit switches a twin's rate limit on with room for one request,
// spends it with spend, and switches it off at Restore.
func twinLimit(base, path string, on, off any, spend func(context.Context) error) RateLimit {
	return RateLimit{
		Exhaust: func(ctx context.Context) error {
			if err := admin(ctx, base, "PUT", path, on, nil); err != nil {
				return err
			}
			return spend(ctx)
		},
		Restore: func(ctx context.Context) error { return admin(ctx, base, "PUT", path, off, nil) },
	}
}

// highLevelLimit is the HighLevel twin's limit as RateLimit.
func highLevelLimit(w *twins) RateLimit {
	limit := func(enabled bool) map[string]any {
		return map[string]any{"enabled": enabled, "burst": 1, "interval": "10s", "daily": 200000, "retryAfter": true}
	}
	return twinLimit(w.highLevelURL, "/__admin/limits", limit(true), limit(false), func(ctx context.Context) error {
		return spend(ctx, w.highLevelURL+"/contacts/?locationId="+w.location, "Bearer "+w.token, map[string]string{"Version": "2021-07-28"})
	})
}

// m360Limit is the Marketing 360 twin's leaky bucket as RateLimit.
func m360Limit(w *twins) RateLimit {
	on := map[string]any{"enabled": true, "perSecond": 0.001, "capacity": 1, "retryAfter": true}
	off := map[string]any{"enabled": false, "perSecond": 5, "capacity": 5, "retryAfter": true}
	return twinLimit(w.highLevelURL, "/__admin/m360/limits", on, off, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, "GET", w.m360URL+"/v1/account", nil)
		if err != nil {
			return err
		}
		req.SetBasicAuth(w.m360ID, w.m360Secret)
		return do(req)
	})
}

func spend(ctx context.Context, u, authorization string, headers map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", authorization)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return do(req)
}

func do(req *http.Request) error {
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d", req.Method, req.URL.Path, res.StatusCode)
	}
	return err
}
