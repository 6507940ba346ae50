package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// mockConfigOf loads the mock command's settings from args, a config file
// holding file (none when ""), and the environment env.
func mockConfigOf(t *testing.T, file string, env []string, args ...string) (mockConfig, error) {
	t.Helper()
	cmd := newMockCmd(io.Discard, io.Discard)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "twin.yaml")
	if file != "" {
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return loadMockConfig(cmd.Flags(), path, func() []string { return env })
}

func TestMockConfig_FlagsBeatEnvironmentBeatFileBeatDefaults(t *testing.T) {
	file := "seed: 3\nlogLevel: warn\nm360: {addr: 127.0.0.1:6011}\nhighlevel: {limits: {burst: 7, daily: 70}}\n"
	env := []string{"CONTACTBRIDGE_LOG_LEVEL=debug", "CONTACTBRIDGE_HIGHLEVEL__LIMITS__BURST=8",
		"CONTACTBRIDGE_WEBHOOKS__KEY_FILE=/tmp/keys.pem", "CONTACTBRIDGE_HL_TOKEN=not-a-setting", "OTHER=1"}
	cfg, err := mockConfigOf(t, file, env, "--burst", "9")
	if err != nil {
		t.Fatal(err)
	}
	hl := cfg.HighLevel.Limits
	switch {
	case hl.Burst != 9:
		t.Errorf("burst %d: the flag (9) must beat the environment (8) and the file (7)", hl.Burst)
	case cfg.LogLevel != "debug":
		t.Errorf("log level %q: the environment must beat the file", cfg.LogLevel)
	case hl.Daily != 70 || cfg.Seed != 3 || cfg.M360.Addr != "127.0.0.1:6011":
		t.Errorf("the file's settings lost: daily %d, seed %d, m360 addr %s", hl.Daily, cfg.Seed, cfg.M360.Addr)
	case cfg.Webhooks.KeyFile != "/tmp/keys.pem":
		t.Errorf("CONTACTBRIDGE_WEBHOOKS__KEY_FILE set keyFile %q", cfg.Webhooks.KeyFile)
	case cfg.HighLevel.Addr != "127.0.0.1:4010" || hl.Interval.Std().String() != "10s" || cfg.Scenario != "default":
		t.Errorf("defaults lost: addr %s, interval %s, scenario %q", cfg.HighLevel.Addr, hl.Interval, cfg.Scenario)
	}
}

func TestMockConfig_ErrorsInTheUsersWords(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"unknown key":        {"stict: true\n", `unknown setting "stict" in `},
		"unknown nested key": {"m360:\n  adr: x\n", `unknown setting "adr" in `},
		"wrong kind":         {"journal: {size: lots}\n", `line 1: "lots" is not a whole number`},
	} {
		_, err := mockConfigOf(t, tc.file, nil)
		var usage *usageError
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "twin.yaml") ||
			!errors.As(err, &usage) || usage.command != "contactbridge mock" {
			t.Errorf("%s: %v, want %q, the file and a usage error (exit 2, a --help hint)", name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "mock.") || strings.Contains(err.Error(), "type ")) {
			t.Errorf("%s: %v names Go types", name, err)
		}
	}
}

func TestMock_CompletesFlagValues(t *testing.T) {
	for flag, want := range map[string]string{"--scenario": "edge-cases", "--log-level": "warn", "--clock": "frozen"} {
		var out strings.Builder
		if err := run(context.Background(), []string{cobra.ShellCompRequestCmd, "mock", flag, ""}, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("completion of %s offers:\n%s\nwant %s among them", flag, out.String(), want)
		}
	}
}
