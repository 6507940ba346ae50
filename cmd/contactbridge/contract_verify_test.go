//go:build pact

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestContractVerify_PassesAgainstAStartedTwinAndLeavesNothing(t *testing.T) {
	s := startSandbox(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"highlevel", s.highLevelArgs(), "HighLevel: 17 interactions, 0 failed"},
		{"m360", []string{"contract", "verify", "--provider", "m360", "--base-url", s.m360URL, "--client-id", s.m360ID,
			"--client-secret", s.m360Secret, "--readonly-client-id", s.m360ReadOnlyID, "--readonly-client-secret", s.m360ReadOnlySecret},
			"Marketing360: 15 interactions, 0 failed"},
	} {
		var out, errOut bytes.Buffer
		junit := filepath.Join(dir, tc.name+".xml")
		if err := run(context.Background(), append(tc.args, "--junit", junit), &out, &errOut); err != nil {
			t.Fatalf("%s: %v\n%s", tc.name, err, errOut.String())
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s: output %q, want %q", tc.name, out.String(), tc.want)
		}
		if j := readJUnit(t, junit, 0); j.Failures != 0 || j.Tests < 15 {
			t.Errorf("%s: junit %+v", tc.name, j)
		}
	}
	leftovers(t, s, "verify")
}

func TestContractVerify_FailsOnAPactTheTwinDoesNotKeep(t *testing.T) {
	s := startSandbox(t)
	raw, err := os.ReadFile("../../contract/pacts/contactbridge-sync-HighLevel.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pact, junit := filepath.Join(dir, "drifted.json"), filepath.Join(dir, "out.xml")
	// The consumer now reads "givenName" where the API answers "firstName".
	if err := os.WriteFile(pact, bytes.ReplaceAll(raw, []byte(`"firstName": "Ada"`), []byte(`"givenName": "Ada"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = run(context.Background(), append(s.highLevelArgs(), "--pact", pact, "--junit", junit), &out, &errOut)
	if !errors.Is(err, errVerifyFailed) {
		t.Fatalf("err = %v, want errVerifyFailed", err)
	}
	if !strings.Contains(errOut.String(), "missing the following keys: givenName") {
		t.Errorf("stderr does not name the field:\n%s", errOut.String())
	}
	if j := readJUnit(t, junit, 0); j.Failures == 0 {
		t.Errorf("junit has no failures: %+v", j)
	}
}
