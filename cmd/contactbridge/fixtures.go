package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/adminapi"
	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock/store"
)

// terminalMaxContacts is the most contacts fixtures generate writes to a
// terminal without an explicit --out -.
const terminalMaxContacts = 1000

// sizeFlags override a scenario's sizes; a flag not given keeps the
// scenario's.
type sizeFlags struct {
	cmd                                                *cobra.Command
	contacts, tasks, notes, appointments, m360Contacts int
}

func (s *sizeFlags) register(cmd *cobra.Command) {
	s.cmd = cmd
	fl := cmd.Flags()
	fl.IntVar(&s.contacts, "contacts", 0, "HighLevel contacts (default: the scenario's)")
	fl.IntVar(&s.tasks, "tasks", 0, "tasks per contact (default: the scenario's)")
	fl.IntVar(&s.notes, "notes", 0, "notes per contact (default: the scenario's)")
	fl.IntVar(&s.appointments, "appointments", 0, "appointments per contact (default: the scenario's)")
	fl.IntVar(&s.m360Contacts, "m360-contacts", 0, "Marketing 360 contacts that exist only there (default: the scenario's)")
}

func (s sizeFlags) apply(o *fixtures.Options) error {
	for _, f := range []struct {
		name string
		v    int
		dst  *int
	}{{"contacts", s.contacts, &o.Contacts}, {"tasks", s.tasks, &o.TasksPerContact}, {"notes", s.notes, &o.NotesPerContact},
		{"appointments", s.appointments, &o.AppointmentsPerContact}, {"m360-contacts", s.m360Contacts, &o.M360Contacts}} {
		if !s.cmd.Flags().Changed(f.name) {
			continue
		}
		if f.v < 0 {
			return usageErrorf(s.cmd, "--%s %d: want 0 or more", f.name, f.v)
		}
		*f.dst = f.v
	}
	return nil
}

// scenarioOptions returns a scenario's options with the seed and sizes given.
func scenarioOptions(name string, seed uint64, sizes sizeFlags) (fixtures.Options, error) {
	o, err := fixtures.Scenario(name)
	if err != nil {
		return o, usageErrorf(sizes.cmd, "%w", err)
	}
	o.Seed = seed
	if err := sizes.apply(&o); err != nil {
		return o, err
	}
	if o.Contacts+o.M360Contacts > fixtures.MaxContacts {
		return o, usageErrorf(sizes.cmd, "--contacts and --m360-contacts: %d in all, want at most %d", o.Contacts+o.M360Contacts, fixtures.MaxContacts)
	}
	return o, nil
}

// completeScenario completes a --scenario value.
func completeScenario(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var names []cobra.Completion
	for _, s := range fixtures.Scenarios() {
		names = append(names, cobra.CompletionWithDesc(s.Name, headline(s.Description)))
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}

// headline is the start of a description, on one line: up to its first
// colon, semicolon, parenthesis or full stop.
func headline(text string) string {
	line := strings.Join(strings.Fields(text), " ")
	if i := strings.IndexAny(line, ":;(."); i > 0 {
		line = line[:i]
	}
	return strings.TrimSpace(line)
}

func newFixturesCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fixtures",
		Short: "Generate deterministic data sets and load them into the twins or sandbox accounts",
		Args:  cobra.ArbitraryArgs,
		RunE:  runGroup,
	}
	cmd.AddCommand(newFixturesListCmd(stdout), newFixturesGenerateCmd(stdout, stderr), newFixturesLoadCmd(stdout, stderr))
	return cmd
}

func newFixturesListCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the scenarios",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, s := range fixtures.Scenarios() {
				fmt.Fprintf(stdout, "%s\n  %s\n\n", s.Name, strings.ReplaceAll(strings.TrimSpace(s.Description), "\n", "\n  "))
			}
			return nil
		},
	}
}

func newFixturesGenerateCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		scenario, out string
		seed          uint64
		ndjson        bool
		sizes         sizeFlags
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a scenario's data set as JSON (or NDJSON) to a file or stdout",
		Long: `Generates a scenario's data set (the same scenario, seed and sizes give the same
bytes on any machine) and writes it to --out, with its progress on stderr. Without
--out it goes to stdout, but a data set of more than ` + strconv.Itoa(terminalMaxContacts) + ` contacts is not written
to a terminal unless --out - says so.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := scenarioOptions(scenario, seed, sizes)
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("ndjson") {
				ndjson = strings.HasSuffix(out, ".ndjson")
			}
			n := o.Contacts + o.M360Contacts
			if out == "-" && !cmd.Flags().Changed("out") && n > terminalMaxContacts && isTerminal(stdout) {
				return usageErrorf(cmd, "not writing %d contacts to the terminal: give --out FILE, or --out - to write to stdout anyway", n)
			}
			return generate(o, out, ndjson, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&scenario, "scenario", "default", "scenario name (see: contactbridge fixtures scenarios)")
	fl.Uint64Var(&seed, "seed", 1, "seed: the same seed and options give the same bytes")
	fl.StringVar(&out, "out", "-", "file to write, or - for stdout")
	fl.BoolVar(&ndjson, "ndjson", false, "write NDJSON, one record a line (default when --out ends in .ndjson)")
	sizes.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("scenario", completeScenario)
	return cmd
}

// generate writes the data set of o to the file out ("-": stdout), saying
// on stderr what it does, since a large set takes seconds.
func generate(o fixtures.Options, out string, ndjson bool, stdout, stderr io.Writer) (err error) {
	w, name := stdout, "stdout"
	if out != "-" {
		f, createErr := os.Create(out)
		if createErr != nil {
			return fmt.Errorf("fixtures generate: %w", createErr)
		}
		defer func() { // the named err: a failed close loses the file's end
			if closeErr := f.Close(); err == nil && closeErr != nil {
				err = fmt.Errorf("fixtures generate: %w", closeErr)
			}
		}()
		w, name = f, out
	}
	fmt.Fprintf(stderr, "generating %s (seed %d) to %s: %d HighLevel contacts, %d more in Marketing 360\n", o.Scenario, o.Seed, name, o.Contacts, o.M360Contacts)
	if err := fixtures.Stream(w, o, ndjson, ""); err != nil {
		return fmt.Errorf("fixtures generate: writing %s: %w", name, err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", name)
	return nil
}

func newFixturesLoadCmd(stdout, stderr io.Writer) *cobra.Command {
	var (
		file, scenario, adminURL, adminToken, journal string
		hlURL, hlToken, hlLocation, hlCalendar        string
		m360URL, m360ID, m360Secret                   string
		seed                                          uint64
		dryRun                                        bool
		concurrency                                   int
		sizes                                         sizeFlags
	)
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Load a data set into a running twin (bulk) or through the public APIs",
		Long: `Loads a data set, from --file or generated from --scenario, either into a running
twin in one request (--admin-url, the twin's base URL), or through the public APIs of
any HighLevel and/or Marketing 360 base URL with real credentials: rate-limit aware,
concurrent within the limit, resumable (--journal records what was created; a rerun
creates nothing twice), with --dry-run and a summary. Credentials may also come from
CONTACTBRIDGE_HL_TOKEN and CONTACTBRIDGE_M360_SECRET.

Progress goes to stderr: a bar on a terminal, otherwise a line every few seconds
and every failed record logged as it fails (--log-format). It exits 1 when any
record failed, after the summary.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if hlToken == "" {
				hlToken = os.Getenv("CONTACTBRIDGE_HL_TOKEN")
			}
			if m360Secret == "" {
				m360Secret = os.Getenv("CONTACTBRIDGE_M360_SECRET")
			}
			var target fixtures.Target
			switch {
			case adminURL != "" && (hlURL != "" || m360URL != ""):
				return usageErrorf(cmd, "--admin-url loads into a twin in one request; it does not go with --highlevel-url or --m360-url")
			case adminURL != "":
				target.AdminURL, target.AdminToken = strings.TrimRight(adminURL, "/"), adminToken
			case hlURL == "" && m360URL == "":
				return usageErrorf(cmd, "give --admin-url (a running twin), or --highlevel-url and/or --m360-url (the public APIs)")
			}
			if hlURL != "" {
				if hlToken == "" {
					return usageErrorf(cmd, "--highlevel-url needs --highlevel-token (or CONTACTBRIDGE_HL_TOKEN)")
				}
				target.HighLevel = &fixtures.HighLevelTarget{BaseURL: hlURL, Token: hlToken, LocationID: hlLocation, CalendarID: hlCalendar}
			}
			if m360URL != "" {
				if m360ID == "" || m360Secret == "" {
					return usageErrorf(cmd, "--m360-url needs --m360-client-id and --m360-client-secret (or CONTACTBRIDGE_M360_SECRET)")
				}
				target.M360 = &fixtures.M360Target{BaseURL: m360URL, ClientID: m360ID, ClientSecret: m360Secret}
			}
			var forTwin func(*fixtures.Options) error
			if adminURL != "" {
				forTwin = func(o *fixtures.Options) error {
					loc, acct, err := twinDefaults(cmd.Context(), target.AdminURL, adminToken)
					o.Location, o.M360Account = loc, acct
					return err
				}
			}
			ds, err := loadDataset(cmd, file, scenario, seed, sizes, forTwin)
			if err != nil {
				return err
			}
			if n := len(ds.State.Appointments); target.HighLevel != nil && hlCalendar == "" && n > 0 {
				return usageErrorf(cmd, "the data set has %d appointments: give --highlevel-calendar (a calendar of the location), or --appointments 0 with --scenario", n)
			}
			opts := fixtures.LoadOptions{JournalPath: journal, DryRun: dryRun, Concurrency: concurrency, Progress: stderr}
			if !isTerminal(stderr) {
				opts.Logger = newLogger(cmd, stderr, slog.LevelInfo)
			}
			sum, err := fixtures.Load(cmd.Context(), ds, target, opts)
			fmt.Fprintln(stdout, sum.String())
			if n := len(sum.Failures); err == nil && n > 0 {
				err = fmt.Errorf("fixtures load: %d records failed (see the summary's failures)", n)
			}
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&file, "file", "", "data set file (JSON or NDJSON) written by fixtures generate")
	fl.StringVar(&scenario, "scenario", "", "generate this scenario instead of reading --file")
	fl.Uint64Var(&seed, "seed", 1, "seed for --scenario")
	fl.StringVar(&adminURL, "admin-url", "", "a running twin's base URL: replace its state in one bulk request (a --scenario is generated for its default location and account)")
	fl.StringVar(&adminToken, "admin-token", "", "the twin's admin token, if it has one")
	fl.StringVar(&hlURL, "highlevel-url", "", "HighLevel base URL (twin or live) for the public-API path")
	fl.StringVar(&hlToken, "highlevel-token", "", "HighLevel bearer token (or CONTACTBRIDGE_HL_TOKEN)")
	fl.StringVar(&hlLocation, "highlevel-location", "", "location id the contacts go to")
	fl.StringVar(&hlCalendar, "highlevel-calendar", "", "calendar id the appointments are booked on (needed when the data set has appointments)")
	fl.StringVar(&m360URL, "m360-url", "", "Marketing 360 base URL (twin or live), with or without /v1")
	fl.StringVar(&m360ID, "m360-client-id", "", "Marketing 360 API key client id")
	fl.StringVar(&m360Secret, "m360-client-secret", "", "Marketing 360 API key secret (or CONTACTBRIDGE_M360_SECRET)")
	fl.StringVar(&journal, "journal", "", "resume journal file (without one, a rerun creates everything again)")
	fl.BoolVar(&dryRun, "dry-run", false, "count what would be created; send nothing")
	fl.IntVar(&concurrency, "concurrency", 4, "requests in flight, within the rate limits")
	sizes.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("scenario", completeScenario)
	return cmd
}

// loadDataset reads --file or generates --scenario; forTwin, when set, fits
// the generated data to a running twin.
func loadDataset(cmd *cobra.Command, file, scenario string, seed uint64, sizes sizeFlags, forTwin func(*fixtures.Options) error) (fixtures.Dataset, error) {
	switch {
	case file != "" && scenario != "":
		return fixtures.Dataset{}, usageErrorf(cmd, "give --file or --scenario, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return fixtures.Dataset{}, fmt.Errorf("fixtures load: %w", err)
		}
		defer f.Close()
		return fixtures.Read(f)
	case scenario != "":
		o, err := scenarioOptions(scenario, seed, sizes)
		if err != nil {
			return fixtures.Dataset{}, err
		}
		if forTwin != nil {
			if err := forTwin(&o); err != nil {
				return fixtures.Dataset{}, err
			}
		}
		return fixtures.Generate(o)
	}
	return fixtures.Dataset{}, usageErrorf(cmd, "give --file (a data set) or --scenario (to generate one)")
}

// twinDefaults reads a running twin's default location and Marketing 360
// account, so a scenario generated for it lands where its printed
// credentials point.
func twinDefaults(ctx context.Context, adminURL, adminToken string) (*store.Location, *store.M360Account, error) {
	admin := &adminapi.Client{BaseURL: adminURL, Token: adminToken}
	health, err := admin.Health(ctx)
	if err != nil {
		var apiErr *adminapi.Error
		if !errors.As(err, &apiErr) {
			return nil, nil, fmt.Errorf("fixtures: twin at %s: no answer (is contactbridge mock running there?): %w", adminURL, err)
		}
		return nil, nil, fmt.Errorf("fixtures: twin at %s: %w", adminURL, err)
	}
	var st store.State
	if err := admin.ExportState(ctx, &st); err != nil {
		return nil, nil, fmt.Errorf("fixtures: twin at %s: %w", adminURL, err)
	}
	var loc *store.Location
	for i := range st.Locations {
		if st.Locations[i].ID == health.LocationID {
			loc = &st.Locations[i]
		}
	}
	var acct *store.M360Account
	for i := range st.M360Accounts {
		if st.M360Accounts[i].ID == health.M360AccountID {
			acct = &st.M360Accounts[i]
		}
	}
	if loc == nil || acct == nil {
		return nil, nil, fmt.Errorf("fixtures: twin at %s: its default location or account is not in its state", adminURL)
	}
	return loc, acct, nil
}
