package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/spf13/cobra"

	"github.com/contactbridge/contactbridge/contract"
)

// rateLimitWait waits a 429's Retry-After during contract verify; nil is
// the real clock (tests move a twin's frozen clock instead).
var rateLimitWait contract.Wait

func newContractCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contract",
		Short: "Verify the sync's pacts against an API; check an API against its OpenAPI document",
	}
	cmd.AddCommand(newContractVerifyCmd(stdout, stderr), newContractCheckCmd(stdout), newContractDiffCmd(stdout))
	return cmd
}

// verifyFlags are the flags of contract verify.
type verifyFlags struct {
	provider, baseURL, pact, junit string
	timeout                        time.Duration

	hlToken, hlLocation, hlCalendar, hlReadOnly, hlOtherLocation, hlOtherToken string

	m360ID, m360Secret, m360ReadOnlyID, m360ReadOnlySecret string
}

func newContractVerifyCmd(stdout, stderr io.Writer) *cobra.Command {
	var f verifyFlags
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Verify the sync's pact with a provider at any base URL (a twin, a sandbox)",
		Long: `Replays the pact between the sync and a provider (built in, or --pact FILE) against
--base-url with Pact's verifier. Each provider state is made through the provider's public
API with the credentials given (records created for a state are deleted after its
interaction), so it works against a sandbox account. Pact's report goes to stdout; --junit
writes JUnit XML. Exits non-zero when an interaction does not match.

HighLevel needs --token (or CONTACTBRIDGE_HL_TOKEN), --location and --calendar; the 401
case --readonly-token (contacts.readonly only), the 403 case --other-location and
--other-token. Marketing 360 needs --client-id and --client-secret (or
CONTACTBRIDGE_M360_SECRET); the 403 case --readonly-client-id and --readonly-client-secret
(a key with contacts:read only). The 429 case spends the rate limit and waits its
Retry-After.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secretsFromEnv(&f.hlToken, &f.m360Secret)
			return contractVerify(cmd.Context(), f, stdout, stderr)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.provider, "provider", "", "highlevel or m360")
	fl.StringVar(&f.baseURL, "base-url", "", "the provider's base URL")
	fl.StringVar(&f.pact, "pact", "", "a pact file (default: the built-in pact of the provider)")
	fl.StringVar(&f.junit, "junit", "", "write JUnit XML to this file")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "timeout of each request to the provider")
	fl.StringVar(&f.hlToken, "token", "", "HighLevel token with the sync's scopes (or CONTACTBRIDGE_HL_TOKEN)")
	fl.StringVar(&f.hlLocation, "location", "", "HighLevel location id")
	fl.StringVar(&f.hlCalendar, "calendar", "", "HighLevel calendar id of the location")
	fl.StringVar(&f.hlReadOnly, "readonly-token", "", "HighLevel token with contacts.readonly only")
	fl.StringVar(&f.hlOtherLocation, "other-location", "", "another HighLevel location id")
	fl.StringVar(&f.hlOtherToken, "other-token", "", "a token of --other-location")
	fl.StringVar(&f.m360ID, "client-id", "", "Marketing 360 API key client id")
	fl.StringVar(&f.m360Secret, "client-secret", "", "Marketing 360 API key secret (or CONTACTBRIDGE_M360_SECRET)")
	fl.StringVar(&f.m360ReadOnlyID, "readonly-client-id", "", "Marketing 360 key with contacts:read only: client id")
	fl.StringVar(&f.m360ReadOnlySecret, "readonly-client-secret", "", "Marketing 360 key with contacts:read only: secret")
	_ = cmd.MarkFlagRequired("provider")
	_ = cmd.MarkFlagRequired("base-url")
	return cmd
}

// secretsFromEnv fills a HighLevel token and a Marketing 360 secret not
// given as flags from CONTACTBRIDGE_HL_TOKEN and CONTACTBRIDGE_M360_SECRET.
func secretsFromEnv(token, secret *string) {
	if *token == "" {
		*token = os.Getenv("CONTACTBRIDGE_HL_TOKEN")
	}
	if *secret == "" {
		*secret = os.Getenv("CONTACTBRIDGE_M360_SECRET")
	}
}

// errVerifyFailed is a provider that does not match its pact.
var errVerifyFailed = errors.New("the provider does not match the pact")

func contractVerify(ctx context.Context, f verifyFlags, stdout, stderr io.Writer) error {
	var (
		provider string
		states   contract.States
		err      error
	)
	switch f.provider {
	case "highlevel":
		provider = contract.ProviderHighLevel
		if f.hlToken == "" || f.hlLocation == "" || f.hlCalendar == "" {
			return errors.New("contract verify: highlevel needs --token, --location and --calendar")
		}
		states, err = contract.HighLevelStates(contract.HighLevelAccount{
			BaseURL: f.baseURL, Token: f.hlToken, LocationID: f.hlLocation, CalendarID: f.hlCalendar,
			ReadOnlyToken: f.hlReadOnly, OtherLocationID: f.hlOtherLocation, OtherToken: f.hlOtherToken,
			Wait: rateLimitWait,
		})
	case "m360":
		provider = contract.ProviderM360
		if f.m360ID == "" || f.m360Secret == "" {
			return errors.New("contract verify: m360 needs --client-id and --client-secret")
		}
		states, err = contract.M360States(contract.M360Account{
			BaseURL: f.baseURL, ClientID: f.m360ID, ClientSecret: f.m360Secret,
			ReadOnlyID: f.m360ReadOnlyID, ReadOnlySecret: f.m360ReadOnlySecret, Wait: rateLimitWait,
		})
	default:
		return fmt.Errorf("contract verify: --provider %q: want highlevel or m360", f.provider)
	}
	if err != nil {
		return err
	}
	pact := f.pact
	if pact == "" {
		dir, err := os.MkdirTemp("", "contactbridge-pact-")
		if err != nil {
			return fmt.Errorf("contract verify: %w", err)
		}
		defer os.RemoveAll(dir)
		if pact, err = contract.WritePact(dir, provider); err != nil {
			return err
		}
	}
	rep, err := contract.Verify(ctx, contract.VerifyOptions{
		Provider: provider, BaseURL: f.baseURL, PactFiles: []string{pact}, States: states, Timeout: f.timeout,
	})
	if err != nil {
		return err
	}
	if f.junit != "" {
		if err := writeFile(f.junit, rep.WriteJUnit); err != nil {
			return err
		}
	}
	failed := 0
	for _, c := range rep.Cases {
		if c.Failure != "" {
			failed++
			fmt.Fprintf(stderr, "FAIL %s\n  %s\n", c.Description, c.Failure)
		}
	}
	fmt.Fprintf(stdout, "%s: %d interactions, %d failed\n", provider, len(rep.Cases), failed)
	if !rep.Passed {
		return errVerifyFailed
	}
	return nil
}

// writeFile writes a report with write into path.
func writeFile(path string, write func(io.Writer) error) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := write(out); err != nil {
		out.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// checkFlags are the flags of contract check.
type checkFlags struct {
	spec, baseURL, markdown, junit string

	token, readOnly, location, calendar    string
	id, secret, readOnlyID, readOnlySecret string
	readOnlyScopes                         []string
	values                                 map[string]string
}

// errCheckFailed is an API that differs from its document.
var errCheckFailed = errors.New("the API differs from the document")

func newContractCheckCmd(stdout io.Writer) *cobra.Command {
	var f checkFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check an API against an OpenAPI document: stateful sequences, negative cases, every answer validated",
		Long: `Derives from the document (--spec highlevel, m360 or a file such as the vendor's own
contacts.json) a stateful sequence per resource (create, read, list, update, its
sub-resources and other operations, delete, read again: 404) and negative cases from the
schemas (each required field missing and of the wrong type, unknown ids, a credential
without the operation's scope), runs them against --base-url and validates every answer
against the document. Prints a Markdown report (or --markdown FILE), --junit writes JUnit
XML. Exits non-zero when any step differs from the document.

HighLevel: --token (or CONTACTBRIDGE_HL_TOKEN), --location, --calendar, and for the scope
cases --readonly-token. Marketing 360: --client-id, --client-secret (or
CONTACTBRIDGE_M360_SECRET), and --readonly-client-id, --readonly-client-secret. What a
record is created with is deleted again.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			secretsFromEnv(&f.token, &f.secret)
			return contractCheck(cmd.Context(), f, stdout)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.spec, "spec", "", "highlevel, m360, or an OpenAPI file")
	fl.StringVar(&f.baseURL, "base-url", "", "the API's base URL")
	fl.StringVar(&f.markdown, "markdown", "", "write the Markdown report to this file instead of stdout")
	fl.StringVar(&f.junit, "junit", "", "write JUnit XML to this file")
	fl.StringVar(&f.token, "token", "", "HighLevel token with every scope (or CONTACTBRIDGE_HL_TOKEN)")
	fl.StringVar(&f.readOnly, "readonly-token", "", "HighLevel token with --readonly-scopes only")
	fl.StringVar(&f.location, "location", "", "HighLevel location id")
	fl.StringVar(&f.calendar, "calendar", "", "HighLevel calendar id")
	fl.StringVar(&f.id, "client-id", "", "Marketing 360 API key client id")
	fl.StringVar(&f.secret, "client-secret", "", "Marketing 360 API key secret (or CONTACTBRIDGE_M360_SECRET)")
	fl.StringVar(&f.readOnlyID, "readonly-client-id", "", "Marketing 360 key with --readonly-scopes only: client id")
	fl.StringVar(&f.readOnlySecret, "readonly-client-secret", "", "Marketing 360 key with --readonly-scopes only: secret")
	fl.StringSliceVar(&f.readOnlyScopes, "readonly-scopes", nil,
		"the scopes of the read-only credential, which must hold no more (default: HighLevel's contacts.readonly and calendars/events.readonly, Marketing 360's :read permissions)")
	fl.StringToStringVar(&f.values, "value", nil, "a known parameter or field value, name=value (repeatable)")
	_ = cmd.MarkFlagRequired("spec")
	_ = cmd.MarkFlagRequired("base-url")
	return cmd
}

func contractCheck(ctx context.Context, f checkFlags, stdout io.Writer) error {
	doc, builtIn, err := contract.BuiltInDoc(ctx, f.spec)
	if err != nil {
		return err
	}
	if !builtIn {
		if doc, err = contract.LoadDoc(ctx, f.spec); err != nil {
			return err
		}
	}
	opts := contract.CheckOptions{Doc: doc, Name: f.spec, BaseURL: f.baseURL, Values: map[string]any{}, LimitedScopes: f.readOnlyScopes}
	for k, v := range f.values {
		opts.Values[k] = v
	}
	switch {
	case f.token != "":
		opts.Authorization = "Bearer " + f.token
		if f.readOnly != "" {
			opts.Limited = "Bearer " + f.readOnly
		}
		if opts.LimitedScopes == nil {
			opts.LimitedScopes = []string{"contacts.readonly", "calendars/events.readonly"}
		}
		if f.location != "" {
			opts.Values[contract.KeyLocationID] = f.location
		}
		if f.calendar != "" {
			opts.Values[contract.KeyCalendarID] = f.calendar
		}
	case f.id != "" && f.secret != "":
		opts.Authorization = contract.BasicAuth(f.id, f.secret)
		if f.readOnlyID != "" {
			opts.Limited = contract.BasicAuth(f.readOnlyID, f.readOnlySecret)
		}
		if opts.LimitedScopes == nil {
			opts.LimitedScopes = readPermissions(doc)
		}
	default:
		return errors.New("contract check: give --token (HighLevel) or --client-id and --client-secret (Marketing 360)")
	}
	opts.Wait = rateLimitWait
	rep, err := contract.Check(ctx, opts)
	if err != nil {
		return err
	}
	if f.markdown != "" {
		err = writeFile(f.markdown, rep.WriteMarkdown)
	} else {
		err = rep.WriteMarkdown(stdout)
	}
	if err != nil {
		return err
	}
	if f.junit != "" {
		if err := writeFile(f.junit, rep.WriteJUnit); err != nil {
			return err
		}
	}
	if rep.Passed() != len(rep.Steps) || len(rep.Unexercised()) > 0 {
		return fmt.Errorf("%w: %d of %d steps conform", errCheckFailed, rep.Passed(), len(rep.Steps))
	}
	return nil
}

// readPermissions are the document's x-permissions that only read.
func readPermissions(doc *openapi3.T) []string {
	seen := map[string]bool{}
	var out []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			perms, _ := op.Extensions["x-permissions"].([]any)
			for _, p := range perms {
				if s, ok := p.(string); ok && strings.HasSuffix(s, ":read") && !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func newContractDiffCmd(stdout io.Writer) *cobra.Command {
	var failOnBreaking bool
	cmd := &cobra.Command{
		Use:   "diff OLD NEW",
		Short: "What changed between two OpenAPI documents, breaking changes first (oasdiff)",
		Long: `Compares two OpenAPI documents (files, URLs, or highlevel and m360 for ours), for
example our spec against a newer vendor document, with oasdiff's checks, and prints the
changes as Markdown, breaking ones first. --fail-on-breaking exits non-zero when there are
breaking changes.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := contract.Diff(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if err := rep.WriteMarkdown(stdout); err != nil {
				return err
			}
			if failOnBreaking && rep.Breaking() > 0 {
				return fmt.Errorf("%d breaking changes", rep.Breaking())
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&failOnBreaking, "fail-on-breaking", false, "exit non-zero when a change is breaking")
	return cmd
}
