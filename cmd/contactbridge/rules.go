package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/contactbridge/contactbridge/sync/engine"
	"github.com/contactbridge/contactbridge/sync/rules"
	"github.com/contactbridge/contactbridge/sync/state"
)

// defaultRulesDir is the folder of rule files next to the config file.
const defaultRulesDir = "rules"

// maxRuleFiles bounds the files of a rules folder.
const maxRuleFiles = 100

// errInvalidRules is what sync run and up answer for a rule set with
// problems.
var errInvalidRules = errors.New("the rules have problems (contactbridge rules check lists them)")

func newRulesCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check the sync's rules and try them on a recorded webhook, sending nothing",
		Long: `The sync's rules: the default ones (its six flows) and yours, from the
sync: section's rules: list of the config file and the rule files of its
rulesDir: (default ./rules next to the config file, when it exists).`,
		Args: cobra.ArbitraryArgs,
		RunE: runGroup,
	}
	cmd.AddCommand(newRulesCheckCmd(stdout), newRulesTestCmd(stdout, stderr))
	return cmd
}

func newRulesCheckCmd(stdout io.Writer) *cobra.Command {
	var configPath *string
	cmd := &cobra.Command{
		Use:   "check [FILE...]",
		Short: "Type-check every rule against the specs; list each problem with its line",
		Long: `Loads the default rules and the rule files (the FILEs, or the configured ones),
compiles every condition and template and checks them against the specs'
schemas: triggers, operations, fields, parameters and body fields. Each problem
is printed as file:line:col: field: message, and the command exits 1; a valid
set prints a summary of its rules, triggers and actions.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			set, err := loadRuleSet(cmd, *configPath, args)
			var ps rules.Problems
			if errors.As(err, &ps) {
				for _, p := range ps {
					fmt.Fprintln(stdout, p)
				}
				return fmt.Errorf("rules check: %d problems", len(ps))
			}
			if err != nil {
				return err
			}
			return printRuleSummary(stdout, set)
		},
	}
	configPath = cmd.Flags().String("config", "", "config file (default ./"+defaultConfigFile+" when it exists)")
	return cmd
}

// printRuleSummary prints the set's rules and counts.
func printRuleSummary(w io.Writer, set *rules.Set) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tSTATE\tTRIGGERS\tACTIONS\tFROM")
	for _, r := range set.Rules() {
		st := "on"
		if !r.Enabled {
			st = "off"
		}
		from := fmt.Sprintf("%s:%d", r.File, r.Line)
		if r.Default {
			from = "default"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Name, st, strings.Join(r.On, ","), strings.Join(r.Actions, ","), from)
	}
	sum := set.Summary()
	fmt.Fprintf(tw, "\nok: %d rules (%d default, %d yours; %d on), %d triggers, %d actions\n", sum.Rules, sum.Default,
		sum.Rules-sum.Default, sum.Enabled, sum.Triggers, sum.Actions)
	return tw.Flush()
}

// loadRuleSet loads the default rules with files, or without files the
// configured ones, over the config's flows.
func loadRuleSet(cmd *cobra.Command, configPath string, files []string) (*rules.Set, error) {
	cfg, err := loadSyncConfig(pflag.NewFlagSet("rules", pflag.ContinueOnError), configPath, nil)
	if err != nil {
		return nil, err
	}
	return ruleSet(cmd.Context(), cfg, configPath, files)
}

// ruleSet loads the default rules with files, or without files the
// configured ones (the config file's sync.rules and its rules folder),
// over cfg's flows.
func ruleSet(ctx context.Context, cfg syncConfig, configPath string, files []string) (*rules.Set, error) {
	var sources []rules.Source
	var err error
	if len(files) > 0 {
		for _, f := range files {
			data, err := readBounded(f)
			if err != nil {
				return nil, err
			}
			sources = append(sources, rules.Source{Name: f, Data: data})
		}
	} else if sources, err = ruleSources(cfg, configPath); err != nil {
		return nil, err
	}
	cat, err := rules.DefaultCatalog()
	if err != nil {
		return nil, err
	}
	flows := cfg.Flows.engineFlows()
	return rules.Load(rules.Options{Catalog: cat, Flows: &flows}, sources...)
}

// readBounded reads a rule or event file of at most rules.MaxFileBytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, rules.MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > rules.MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, rules.MaxFileBytes)
	}
	return data, nil
}

// ruleSources are the configured rule files: the config file (its
// sync.rules, with the file's lines), then the *.yaml and *.yml files of
// the rules folder in name order.
func ruleSources(cfg syncConfig, configPath string) ([]rules.Source, error) {
	path := configPath
	if path == "" {
		path = defaultConfigFile
	}
	var sources []rules.Source
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		sources = append(sources, rules.Source{Name: path, Data: data, Path: []string{syncSection, "rules"}})
	case configPath != "" || !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("config: %w", err)
	}
	dir, explicit := cfg.RulesDir, cfg.RulesDir != ""
	if !explicit {
		dir = defaultRulesDir
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(path), dir)
	}
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return sources, nil
	case err != nil:
		return nil, fmt.Errorf("sync.rulesDir: %w", err)
	}
	var names []string
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			names = append(names, e.Name())
		}
	}
	if len(names) > maxRuleFiles {
		return nil, fmt.Errorf("sync.rulesDir %s: more than %d rule files", dir, maxRuleFiles)
	}
	slices.Sort(names)
	for _, n := range names {
		f := filepath.Join(dir, n)
		data, err := readBounded(f)
		if err != nil {
			return nil, err
		}
		sources = append(sources, rules.Source{Name: f, Data: data})
	}
	return sources, nil
}

// checkedRules loads the rules as ruleSet does, for the commands that run
// them: the set, or errInvalidRules with every problem.
func checkedRules(ctx context.Context, cfg syncConfig, configPath string, files []string) (*rules.Set, error) {
	set, err := ruleSet(ctx, cfg, configPath, files)
	var ps rules.Problems
	if errors.As(err, &ps) {
		return nil, fmt.Errorf("%w:\n%s", errInvalidRules, ps.Error())
	}
	return set, err
}

// runnableRules checks the configured rules and returns what the sync runs
// of them: the flows the default rules describe, and the rule set when any
// of the user's rules is on (nil otherwise: the converger then runs the
// flows alone, without the rules' reads and snapshots).
func runnableRules(ctx context.Context, cfg syncConfig, configPath string) (engine.Flows, engine.Rules, error) {
	set, err := checkedRules(ctx, cfg, configPath, nil)
	if err != nil {
		return engine.Flows{}, nil, err
	}
	flows, err := set.Flows()
	if err != nil {
		return engine.Flows{}, nil, err
	}
	for _, r := range set.Rules() {
		if !r.Default && r.Enabled {
			return flows, set, nil
		}
	}
	return flows, nil, nil
}

type rulesTestFlags struct {
	event, replay, entity, contact, mapped, db, config string
	rules                                              []string
	json                                               bool
}

func newRulesTestCmd(stdout, stderr io.Writer) *cobra.Command {
	var f rulesTestFlags
	cmd := &cobra.Command{
		Use:   "test --event FILE | --replay WEBHOOK_ID",
		Short: "Show what the rules would do on a recorded webhook, sending nothing",
		Long: `Reads a webhook body as either API sends it (--event FILE; or --replay, the
body the sync's inbox holds under that webhook id) and prints, for each rule,
whether it matches and why (its triggers, its condition's value), and the exact
request of each action of a matching rule: method, path, query and JSON body.
Nothing is sent.

The entity is the webhook's payload unless --entity gives the record as its
API answers it (the sync re-reads it); --contact is the contact the entity
belongs to (for a contact, the entity), --mapped the contact's counterpart on
the other API (m360.contact for a HighLevel event, highlevel.contact for a
Marketing 360 one). With --replay, a counterpart the sync has mapped is the
contact's id alone unless --mapped gives its record.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (f.event == "") == (f.replay == "") {
				return usageErrorf(cmd, "give --event FILE or --replay WEBHOOK_ID")
			}
			return runRulesTest(cmd, f, stdout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.event, "event", "", "a recorded webhook body (JSON)")
	fl.StringVar(&f.replay, "replay", "", "the id of a webhook the sync's inbox holds (HighLevel webhookId, Marketing 360 delivery id)")
	fl.StringSliceVar(&f.rules, "rules", nil, "rule files to use instead of the configured ones")
	fl.StringVar(&f.entity, "entity", "", "the entity as its API answers it (JSON), instead of the payload")
	fl.StringVar(&f.contact, "contact", "", "the contact the entity belongs to (JSON)")
	fl.StringVar(&f.mapped, "mapped", "", "the contact's counterpart on the other API (JSON)")
	fl.StringVar(&f.db, "db", "", "the sync's database, for --replay (default: the config's sync.db)")
	fl.StringVar(&f.config, "config", "", "config file (default ./"+defaultConfigFile+" when it exists)")
	fl.BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

func runRulesTest(cmd *cobra.Command, f rulesTestFlags, stdout io.Writer) error {
	ctx := cmd.Context()
	cfg, err := loadSyncConfig(pflag.NewFlagSet("rules", pflag.ContinueOnError), f.config, nil)
	if err != nil {
		return err
	}
	set, err := checkedRules(ctx, cfg, f.config, f.rules)
	if err != nil {
		return err
	}
	cat, err := rules.DefaultCatalog()
	if err != nil {
		return err
	}
	var body []byte
	var db *state.DB
	if f.replay != "" {
		path := cfg.DB
		if f.db != "" {
			path = f.db
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("--replay: the sync's database: %w", err)
		}
		if db, err = state.Open(ctx, path, state.Options{}); err != nil {
			return err
		}
		defer db.Close()
		if body, err = inboxBody(ctx, db, f.replay); err != nil {
			return err
		}
	} else if body, err = readBounded(f.event); err != nil {
		return err
	}
	in, _, err := cat.Event(body)
	if err != nil {
		return usageErrorf(cmd, "%w", err)
	}
	if err := f.fill(ctx, &in, db, cfg.HighLevel.Location); err != nil {
		return err
	}
	results := set.Explain(in)
	if f.json {
		return printResultsJSON(stdout, in, results)
	}
	if f.entity == "" {
		fmt.Fprintln(stdout, "(the entity is the webhook's payload; --entity gives the record as the sync re-reads it)")
	}
	return printResults(stdout, in, results)
}

// inboxBody is the body of a webhook the inbox holds, from either API.
func inboxBody(ctx context.Context, db *state.DB, id string) ([]byte, error) {
	for _, src := range []string{state.SourceHighLevelWebhook, state.SourceM360Webhook} {
		e, err := db.InboxEvent(ctx, src, id)
		if err == nil {
			return e.Body, nil
		}
		if !errors.Is(err, state.ErrNotFound) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("--replay %s: the inbox has no webhook with that id", id)
}

// fill sets the entity and the contacts of in from the flags' files and,
// with a database, the contact's counterpart from its mapping (the sync's
// mappings are the HighLevel location's: a Marketing 360 event's is the
// configured location's).
func (f rulesTestFlags) fill(ctx context.Context, in *engine.RuleInput, db *state.DB, location string) error {
	for _, x := range []struct {
		path string
		into *map[string]any
	}{{f.entity, &in.Record}, {f.contact, &in.Contact}, {f.mapped, &in.MappedContact}} {
		if x.path == "" {
			continue
		}
		data, err := readBounded(x.path)
		if err != nil {
			return err
		}
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("%s: not a JSON object: %w", x.path, err)
		}
		*x.into = m
	}
	if f.entity != "" && in.Entity == engine.EntityContact && f.contact == "" {
		in.Contact = in.Record
	}
	if db == nil || in.MappedContact != nil {
		return nil
	}
	if strings.HasPrefix(in.Trigger, rules.APIHighLevel+".") {
		location = in.Location
	}
	return mappedContact(ctx, db, in, location)
}

// mappedContact sets in's counterpart contact to its id, as the sync's
// mappings of the location have it.
func mappedContact(ctx context.Context, db *state.DB, in *engine.RuleInput, location string) error {
	id := fmt.Sprint(in.Record["id"])
	if in.Entity != engine.EntityContact {
		id = fmt.Sprint(in.Record["contactId"])
	}
	var (
		m   state.Mapping
		err error
	)
	if strings.HasPrefix(in.Trigger, rules.APIM360+".") {
		m, err = db.MappingByM360(ctx, engine.EntityContact, location, id)
		if err == nil {
			in.MappedContact = map[string]any{"id": m.HLID}
		}
	} else {
		m, err = db.MappingByHighLevel(ctx, engine.EntityContact, location, id)
		if err == nil && m.M360ID != "" {
			id, perr := strconv.ParseInt(m.M360ID, 10, 64)
			if perr != nil {
				return fmt.Errorf("the mapping of contact %s: %w", m.HLID, perr)
			}
			in.MappedContact = map[string]any{"id": id}
		}
	}
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		return err
	}
	return nil
}

// printResults prints what each rule makes of the change.
func printResults(w io.Writer, in engine.RuleInput, results []rules.Result) error {
	fmt.Fprintf(w, "event %s on %s %s (version %s)\n\n", in.Trigger, in.Entity, in.ID, in.Version)
	matched := 0
	for _, r := range results {
		mark := "-"
		if r.Matched {
			mark, matched = "+", matched+1
		}
		fmt.Fprintf(w, "%s %s: ", mark, r.Rule)
		switch {
		case r.Matched && r.Default:
			fmt.Fprintln(w, r.Reason)
		case r.Matched:
			fmt.Fprintln(w, "matched")
		default:
			fmt.Fprintln(w, "not matched: "+r.Reason)
		}
		if r.Condition != "" && r.Evaluated {
			fmt.Fprintf(w, "    if %s  =>  %t\n", r.Condition, r.Value)
		}
		for _, a := range r.Actions {
			target := a.Path
			if len(a.Query) > 0 {
				target += "?" + a.Query.Encode()
			}
			fmt.Fprintf(w, "    action %s: %s %s %s (%s)\n", a.Action, apiName(a.API), a.Method, target, a.Operation)
			if a.Body != nil {
				fmt.Fprintf(w, "      %s\n", a.Body)
			}
			fmt.Fprintf(w, "      effect key %s\n", a.Key)
		}
		if r.Err != nil {
			fmt.Fprintf(w, "    error: %v\n", r.Err)
		}
	}
	_, err := fmt.Fprintf(w, "\n%d of %d rules match; nothing was sent\n", matched, len(results))
	return err
}

func apiName(api string) string {
	if api == rules.APIM360 {
		return "Marketing 360"
	}
	return "HighLevel"
}

// ruleResultJSON is a rules.Result in --json.
type ruleResultJSON struct {
	Rule      string           `json:"rule"`
	Default   bool             `json:"default"`
	Matched   bool             `json:"matched"`
	Reason    string           `json:"reason,omitempty"`
	Condition string           `json:"condition,omitempty"`
	Value     *bool            `json:"value,omitempty"`
	Actions   []ruleActionJSON `json:"actions,omitempty"`
	Error     string           `json:"error,omitempty"`
}

type ruleActionJSON struct {
	Action    string              `json:"action"`
	Key       string              `json:"key"`
	API       string              `json:"api"`
	Operation string              `json:"operation"`
	Method    string              `json:"method"`
	Path      string              `json:"path"`
	Query     map[string][]string `json:"query,omitempty"`
	Body      json.RawMessage     `json:"body,omitempty"`
}

func printResultsJSON(w io.Writer, in engine.RuleInput, results []rules.Result) error {
	out := struct {
		Trigger string           `json:"trigger"`
		Entity  string           `json:"entity"`
		ID      string           `json:"id"`
		Version string           `json:"version"`
		Rules   []ruleResultJSON `json:"rules"`
	}{Trigger: in.Trigger, Entity: in.Entity, ID: in.ID, Version: in.Version, Rules: []ruleResultJSON{}}
	for _, r := range results {
		j := ruleResultJSON{Rule: r.Rule, Default: r.Default, Matched: r.Matched, Reason: r.Reason, Condition: r.Condition}
		if r.Evaluated {
			j.Value = &r.Value
		}
		if r.Err != nil {
			j.Error = r.Err.Error()
		}
		for _, a := range r.Actions {
			j.Actions = append(j.Actions, ruleActionJSON{Action: a.Action, Key: a.Key, API: a.API, Operation: a.Operation,
				Method: a.Method, Path: a.Path, Query: a.Query, Body: a.Body})
		}
		out.Rules = append(out.Rules, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
