//go:build pact

package contract

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"

	"github.com/contactbridge/contactbridge/sync/highlevelapi"
)

// renameField serves h with the JSON field from renamed to to in the
// answers to GET /contacts/{id}: a twin whose contact view drifted.
func renameField(from, to string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet || strings.Count(strings.Trim(r.URL.Path, "/"), "/") != 1 || !strings.HasPrefix(r.URL.Path, "/contacts/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			body := bytes.ReplaceAll(rec.Body.Bytes(), []byte(`"`+from+`":`), []byte(`"`+to+`":`))
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(rec.Code)
			_, _ = w.Write(body)
		})
	}
}

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
