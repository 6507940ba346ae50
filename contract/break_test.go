//go:build pact

package contract

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
)

// A twin whose view renames a field the consumer reads fails verification
// of that interaction, with Pact's diff naming the field, and of no other.
func TestProvider_RenamedFieldFails(t *testing.T) {
	w := startTwins(t, twinOptions{wrapHighLevel: renameField("email", "mail")})
	rep := verify(t, ProviderHighLevel, w.highLevelURL, highLevelTwinStates(t, w))
	if rep.Passed {
		t.Fatal("verification passed against a twin that renames email")
	}
	if !strings.Contains(rep.Output, "missing the following keys: email") {
		t.Errorf("Pact's report does not name the missing field:\n%s", rep.Output)
	}
	var failed []string
	for _, c := range rep.Cases {
		if c.Failure != "" {
			failed = append(failed, c.Description)
		}
	}
	if strings.Join(failed, "|") != "a request for a contact" {
		t.Errorf("failed interactions = %q, want only the contact read", failed)
	}
}

// A client that stops sending what the pact expects (here the Version
// header) fails its consumer test, and no pact is written.
func TestConsumer_BrokenClientFails(t *testing.T) {
	dir := t.TempDir()
	p := newPact(t, ProviderHighLevel, dir)
	var get interaction
	for _, in := range highLevelInteractions() {
		if in.desc == "a request for a contact" {
			get = in
		}
	}
	err := declare(p, get).ExecuteTest(t, func(cfg consumer.MockServerConfig) error {
		c, err := highlevelapi.New("http://"+cfg.Host+":"+strconv.Itoa(cfg.Port), nil,
			highlevelapi.WithRequestEditorFn(authorization("Bearer "+hlToken)),
			highlevelapi.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
				r.Header.Del("Version")
				return nil
			}))
		if err != nil {
			return err
		}
		_, err = c.GetContactWithResponse(context.Background(), hlContact, nil)
		return err
	})
	if err == nil {
		t.Fatal("the consumer test passed with a client that drops the Version header")
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.json")); len(files) != 0 {
		t.Errorf("a failed consumer test wrote %v", files)
	}
}
