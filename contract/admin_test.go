package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// The twins' admin API, by plain HTTP: what the tests need that the public
// API cannot do (mint restricted credentials, switch rate limits on and
// off) and what they check afterwards (the state left behind).

// admin calls the admin API at base and decodes the JSON answer into out
// (when not nil).
func admin(ctx context.Context, base, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("admin %s %s: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("admin %s %s: %d %s", method, path, res.StatusCode, got)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(got, out)
}

// mintToken is a HighLevel token of the location with only scopes.
func mintToken(tb testing.TB, base, location string, scopes ...string) string {
	tb.Helper()
	var tok struct{ Token string }
	if err := admin(context.Background(), base, "POST", "/__admin/tokens",
		map[string]any{"locationId": location, "scopes": scopes, "type": "private-integration", "expiresIn": -1}, &tok); err != nil {
		tb.Fatal(err)
	}
	return tok.Token
}

// mintM360Key is a Marketing 360 key of the account with only permissions.
func mintM360Key(tb testing.TB, base string, account int64, permissions ...string) (id, secret string) {
	tb.Helper()
	var key struct{ ClientID, ClientSecret string }
	if err := admin(context.Background(), base, "POST", "/__admin/m360/keys",
		map[string]any{"accountId": account, "permissions": permissions}, &key); err != nil {
		tb.Fatal(err)
	}
	return key.ClientID, key.ClientSecret
}

// noLeftovers fails when the twins hold records: a run must delete what
// it made.
func noLeftovers(tb testing.TB, w *twins, what string) {
	tb.Helper()
	var st map[string]json.RawMessage
	if err := admin(context.Background(), w.highLevelURL, "GET", "/__admin/state", nil, &st); err != nil {
		tb.Fatal(err)
	}
	for kind, v := range st {
		var list []json.RawMessage
		if json.Unmarshal(v, &list) == nil && len(list) > 0 && kind != "locations" && kind != "m360Accounts" && kind != "m360Campaigns" {
			tb.Errorf("%s left %d %s behind", what, len(list), kind)
		}
	}
}
