package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/adminapi"
	"github.com/contactbridge/contactbridge/fixtures"
	"github.com/contactbridge/contactbridge/mock/store"
)

type sizeFlags struct {
	contacts, tasks, notes, appointments, m360Contacts int
}

func (s *sizeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&s.contacts, "contacts", -1, "HighLevel contacts (default: the scenario's)")
	fl.IntVar(&s.tasks, "tasks", -1, "tasks per contact (default: the scenario's)")
	fl.IntVar(&s.notes, "notes", -1, "notes per contact (default: the scenario's)")
	fl.IntVar(&s.appointments, "appointments", -1, "appointments per contact (default: the scenario's)")
	fl.IntVar(&s.m360Contacts, "m360-contacts", -1, "Marketing 360 contacts that exist only there (default: the scenario's)")
}

func (s sizeFlags) apply(o *fixtures.Options) {
	for _, f := range []struct {
		v   int
		dst *int
	}{{s.contacts, &o.Contacts}, {s.tasks, &o.TasksPerContact}, {s.notes, &o.NotesPerContact},
		{s.appointments, &o.AppointmentsPerContact}, {s.m360Contacts, &o.M360Contacts}} {
		if f.v >= 0 {
			*f.dst = f.v
		}
	}
}

// scenarioOptions returns a scenario's options with the seed and sizes given.
func scenarioOptions(name string, seed uint64, sizes sizeFlags) (fixtures.Options, error) {
	o, err := fixtures.Scenario(name)
	if err != nil {
		return o, err
	}
	o.Seed = seed
	sizes.apply(&o)
	return o, nil
}

func newFixturesCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fixtures",
		Short: "Generate deterministic data sets and load them into the twins or sandbox accounts",
	}
	cmd.AddCommand(newFixturesListCmd(stdout), newFixturesGenerateCmd(stdout), newFixturesLoadCmd(stdout, stderr))
	return cmd
}

func newFixturesListCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "scenarios",
		Short: "List the scenarios",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, s := range fixtures.Scenarios() {
				fmt.Fprintf(stdout, "%s\n  %s\n\n", s.Name, strings.ReplaceAll(strings.TrimSpace(s.Description), "\n", "\n  "))
			}
			return nil
		},
	}
}

func newFixturesGenerateCmd(stdout io.Writer) *cobra.Command {
	var (
		scenario, out string
		seed          uint64
		ndjson        bool
		sizes         sizeFlags
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a scenario's data set as JSON (or NDJSON) to a file or stdout",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := scenarioOptions(scenario, seed, sizes)
			if err != nil {
				return err
			}
			ds, err := fixtures.Generate(o)
			if err != nil {
				return err
			}
			w := stdout
			if out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return fmt.Errorf("fixtures: %w", err)
				}
				defer f.Close()
				w = f
			}
			if !cmd.Flags().Changed("ndjson") {
				ndjson = strings.HasSuffix(out, ".ndjson")
			}
			return fixtures.Write(w, ds, ndjson)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&scenario, "scenario", "default", "scenario name (see: contactbridge fixtures scenarios)")
	fl.Uint64Var(&seed, "seed", 1, "seed: the same seed and options give the same bytes")
	fl.StringVar(&out, "out", "-", "file to write, or - for stdout")
	fl.BoolVar(&ndjson, "ndjson", false, "write NDJSON, one record a line (default when --out ends in .ndjson)")
	sizes.register(cmd)
	return cmd
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
CONTACTBRIDGE_HL_TOKEN and CONTACTBRIDGE_M360_SECRET.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var forTwin func(*fixtures.Options) error
			if adminURL != "" {
				forTwin = func(o *fixtures.Options) error {
					loc, acct, err := twinDefaults(cmd.Context(), strings.TrimRight(adminURL, "/"), adminToken)
					o.Location, o.M360Account = loc, acct
					return err
				}
			}
			ds, err := loadDataset(file, scenario, seed, sizes, forTwin)
			if err != nil {
				return err
			}
			var target fixtures.Target
			switch {
			case adminURL != "":
				target.AdminURL, target.AdminToken = strings.TrimRight(adminURL, "/"), adminToken
			case hlURL != "" || m360URL != "":
				if hlURL != "" {
					if hlToken == "" {
						hlToken = os.Getenv("CONTACTBRIDGE_HL_TOKEN")
					}
					target.HighLevel = &fixtures.HighLevelTarget{BaseURL: strings.TrimRight(hlURL, "/"), Token: hlToken,
						LocationID: hlLocation, CalendarID: hlCalendar}
				}
				if m360URL != "" {
					if m360Secret == "" {
						m360Secret = os.Getenv("CONTACTBRIDGE_M360_SECRET")
					}
					target.M360 = &fixtures.M360Target{BaseURL: strings.TrimRight(m360URL, "/"), ClientID: m360ID, ClientSecret: m360Secret}
				}
			default:
				return fmt.Errorf("fixtures load: give --admin-url, or --highlevel-url and/or --m360-url")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			sum, err := fixtures.Load(ctx, ds, target, fixtures.LoadOptions{JournalPath: journal, DryRun: dryRun,
				Concurrency: concurrency, Progress: stderr})
			fmt.Fprintln(stdout, sum.String())
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
	fl.StringVar(&hlCalendar, "highlevel-calendar", "", "calendar id for appointments (none: appointments are skipped)")
	fl.StringVar(&m360URL, "m360-url", "", "Marketing 360 base URL (twin or live), without /v1")
	fl.StringVar(&m360ID, "m360-client-id", "", "Marketing 360 API key client id")
	fl.StringVar(&m360Secret, "m360-client-secret", "", "Marketing 360 API key secret (or CONTACTBRIDGE_M360_SECRET)")
	fl.StringVar(&journal, "journal", "", "resume journal file (default: none; reruns then create again)")
	fl.BoolVar(&dryRun, "dry-run", false, "count what would be created; send nothing")
	fl.IntVar(&concurrency, "concurrency", 4, "requests in flight, within the rate limits")
	sizes.register(cmd)
	return cmd
}

// loadDataset reads --file or generates --scenario; forTwin, when set, fits
// the generated data to a running twin.
func loadDataset(file, scenario string, seed uint64, sizes sizeFlags, forTwin func(*fixtures.Options) error) (fixtures.Dataset, error) {
	switch {
	case file != "" && scenario != "":
		return fixtures.Dataset{}, fmt.Errorf("fixtures load: give --file or --scenario, not both")
	case file != "":
		f, err := os.Open(file)
		if err != nil {
			return fixtures.Dataset{}, fmt.Errorf("fixtures: %w", err)
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
	return fixtures.Dataset{}, fmt.Errorf("fixtures load: give --file or --scenario")
}

// twinDefaults reads a running twin's default location and Marketing 360
// account, so a scenario generated for it lands where its printed
// credentials point.
func twinDefaults(ctx context.Context, adminURL, adminToken string) (*store.Location, *store.M360Account, error) {
	admin := &adminapi.Client{BaseURL: adminURL, Token: adminToken}
	health, err := admin.Health(ctx)
	if err != nil {
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
