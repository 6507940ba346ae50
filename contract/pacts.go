package contract

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
)

// pacts are the pact files the consumer tests wrote, as committed.
//
//go:embed pacts/*.json
var pacts embed.FS

// PactFileName is the name of the pact between the sync and provider.
func PactFileName(provider string) string { return Consumer + "-" + provider + ".json" }

// WritePact writes the built-in pact of provider into dir and returns its
// path: the verifier reads pacts from files.
func WritePact(dir, provider string) (string, error) {
	raw, err := pacts.ReadFile("pacts/" + PactFileName(provider))
	if err != nil {
		return "", fmt.Errorf("contract: no pact for provider %q: %w", provider, err)
	}
	path := filepath.Join(dir, PactFileName(provider))
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return "", fmt.Errorf("contract: write pact: %w", err)
	}
	return path, nil
}
