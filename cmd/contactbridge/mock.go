package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/mock"
	"github.com/contactbridge/contactbridge/mock/clock"
)

// seededStart is where a seeded run's clock starts.
var seededStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type mockFlags struct {
	addr     string
	seed     uint64
	spec     string
	strict   bool
	logLevel string
	clock    string
}

func newMockCmd(stdout, stderr io.Writer) *cobra.Command {
	var f mockFlags
	cmd := &cobra.Command{
		Use:   "mock",
		Short: "Run the HighLevel Contacts API v2 twin",
		Long: `Runs a stateful twin of the HighLevel Contacts API v2 on loopback, routed and
validated from openapi/highlevel.yaml, and prints a ready-to-use token and curl line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runMock(cmd, f, stdout, stderr) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:4010", "address to listen on")
	fl.Uint64Var(&f.seed, "seed", 0, "seed for ids; with a seed the clock starts at "+seededStart.Format(time.RFC3339)+" and moves only with writes (0: random ids, real clock)")
	fl.StringVar(&f.spec, "spec", "", "serve this OpenAPI file instead of the embedded spec")
	fl.BoolVar(&f.strict, "strict", false, "validate every response against the spec and answer 500 on drift")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error (debug logs every request)")
	fl.StringVar(&f.clock, "clock", "", "real or frozen (default: frozen with --seed, real without)")
	return cmd
}

func runMock(cmd *cobra.Command, f mockFlags, stdout, stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !isLoopback(f.addr) {
		return fmt.Errorf("--addr %s: the twin binds to loopback only (127.0.0.1, ::1 or localhost)", f.addr)
	}
	var clk clock.Clock = clock.Real{}
	switch f.clock {
	case "frozen":
		clk = clock.NewManual(seededStart)
	case "":
		if f.seed != 0 {
			clk = clock.NewManual(seededStart)
		}
	case "real":
	default:
		return fmt.Errorf("--clock %q: want real or frozen", f.clock)
	}
	srv, err := mock.NewServer(mock.Options{Addr: f.addr, Seed: f.seed, Clock: clk, SpecPath: f.spec, Strict: f.strict, Logger: logger})
	if err != nil {
		return err
	}
	printBanner(stdout, srv)
	logger.Info("twin serving", "url", srv.URL(), "strict", f.strict)
	<-cmd.Context().Done()
	logger.Info("shutting down")
	return srv.Close()
}

func isLoopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "127.0.0.1" || host == "::1" || host == "localhost" || strings.HasPrefix(host, "127.")
}

func printBanner(w io.Writer, srv *mock.Server) {
	loc := srv.DefaultLocation()
	fmt.Fprintf(w, `HighLevel Contacts API v2 twin
  base URL   %s
  location   %s (%s)
  calendar   %s (%s)
  token      %s
             Private Integration Token for the location; scopes: %s
  headers    Authorization: Bearer <token>, Version: 2021-07-28 (calendars: 2021-04-15)

Try it:
  curl -s -H 'Authorization: Bearer %s' -H 'Version: 2021-07-28' '%s/contacts/?locationId=%s&limit=5'
  curl -s -X POST -H 'Authorization: Bearer %s' -H 'Version: 2021-07-28' -H 'Content-Type: application/json' \
    -d '{"locationId":"%s","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}' '%s/contacts/'
`, srv.URL(), loc.ID, loc.Name, loc.Calendars[0].ID, loc.Calendars[0].Name, srv.DefaultToken(),
		strings.Join(mock.SpecScopes(srv.Spec()), " "),
		srv.DefaultToken(), srv.URL(), loc.ID, srv.DefaultToken(), loc.ID, srv.URL())
}
