//go:build pact

package contract

import (
	"context"
	"path/filepath"
	"testing"
)

func pactFile(provider string) string {
	return filepath.Join(pactDir, Consumer+"-"+provider+".json")
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

func TestProvider_HighLevel(t *testing.T) {
	w := startTwins(t, twinOptions{})
	rep := verify(t, ProviderHighLevel, w.highLevelURL, highLevelTwinStates(t, w))
	if !rep.Passed {
		t.Fatalf("HighLevel twin fails its pact:\n%s", rep.Output)
	}
	for _, c := range rep.Cases {
		if c.Failure != "" {
			t.Errorf("%s: %s", c.Description, c.Failure)
		}
	}
	for kind, n := range records(t, w) {
		if n != 0 {
			t.Errorf("verification left %d %s behind", n, kind)
		}
	}
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

func TestProvider_M360(t *testing.T) {
	w := startTwins(t, twinOptions{})
	rep := verify(t, ProviderM360, w.m360URL, m360TwinStates(t, w))
	if !rep.Passed {
		t.Fatalf("Marketing 360 twin fails its pact:\n%s", rep.Output)
	}
	for kind, n := range records(t, w) {
		if n != 0 {
			t.Errorf("verification left %d %s behind", n, kind)
		}
	}
}
