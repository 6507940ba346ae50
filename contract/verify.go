package contract

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrVerifierFailed is a verifier that could not run (as opposed to a
// provider that failed verification, which a Report tells).
var ErrVerifierFailed = errors.New("contract: the pact verifier could not run")

// ErrNoVerifier is a binary built without Pact's native library, which
// verification needs.
var ErrNoVerifier = errors.New("contract: built without libpact_ffi: build with -tags pact (make build-contract)")

// VerifyOptions say what to verify against which provider.
type VerifyOptions struct {
	// Provider is the provider name of the pacts (ProviderHighLevel,
	// ProviderM360).
	Provider string
	// BaseURL is where the provider answers.
	BaseURL string
	// PactFiles are the pacts to verify.
	PactFiles []string
	// States make the provider states the pacts name.
	States States
	// Timeout bounds each request to the provider; 0 means 10s.
	Timeout time.Duration
	// Logger receives a line per state change; nil means slog.Default().
	Logger *slog.Logger
}

// Report is the outcome of a verification.
type Report struct {
	// Passed is true when every interaction matched.
	Passed bool
	// Output is Pact's report, with its diff of every mismatch.
	Output string
	// Cases are the interactions, in the pacts' order.
	Cases []Case
}

// Case is one interaction's outcome.
type Case struct {
	Pact, Description string
	States            []string
	// Failure is empty when the interaction matched; else what differed.
	Failure string
}

// Log keys.
const (
	logState  = "state"
	logAction = "action"
	logError  = "error"
)

// verifierRun is one call of the native verifier.
type verifierRun struct {
	provider, scheme, host, path string
	port                         int
	stateURL                     string
	files                        []string
	timeout                      time.Duration
}

type verifierResult struct {
	passed bool
	output string
	json   []byte
}

// Verify replays the pacts against the provider at opts.BaseURL with Pact's
// verifier, making each provider state with opts.States (served to the
// verifier on a loopback listener for the duration of the call). A
// provider that does not match is a Report with Passed false, not an error.
func Verify(ctx context.Context, opts VerifyOptions) (*Report, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("contract: base URL %q: want scheme://host[:port][/path]", opts.BaseURL)
	}
	port, err := urlPort(u)
	if err != nil {
		return nil, err
	}
	interactions, err := readPacts(opts.PactFiles)
	if err != nil {
		return nil, err
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("contract: state server: %w", err)
	}
	srv := &http.Server{Handler: stateHandler(ctx, opts.States, log), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		<-served
	}()
	res, err := runVerifier(verifierRun{
		provider: opts.Provider, scheme: u.Scheme, host: u.Hostname(), port: port, path: u.Path,
		stateURL: "http://" + ln.Addr().String() + "/", files: opts.PactFiles, timeout: opts.Timeout,
	})
	if err != nil {
		return nil, err
	}
	failures, err := readFailures(res.json, interactions)
	if err != nil {
		return nil, err
	}
	rep := &Report{Passed: res.passed, Output: res.output}
	for _, in := range interactions {
		in.Failure = failures[in.Description]
		rep.Cases = append(rep.Cases, in)
	}
	return rep, nil
}

func urlPort(u *url.URL) (int, error) {
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, fmt.Errorf("contract: base URL port %q: %w", p, err)
		}
		return n, nil
	}
	switch u.Scheme {
	case "http":
		return 80, nil
	case "https":
		return 443, nil
	}
	return 0, fmt.Errorf("contract: base URL scheme %q: want http or https", u.Scheme)
}

// stateChange is what the verifier posts before (setup) and after
// (teardown) each interaction with a provider state.
type stateChange struct {
	State  string         `json:"state"`
	Params map[string]any `json:"params"`
	Action string         `json:"action"`
}

// stateHandler serves the verifier's state changes: the values a setup
// returns are the JSON object of the answer.
func stateHandler(ctx context.Context, states States, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sc stateChange
		if err := json.NewDecoder(r.Body).Decode(&sc); err != nil {
			http.Error(w, "contract: state change: "+err.Error(), http.StatusBadRequest)
			return
		}
		setup := sc.Action != "teardown"
		vals, err := states.Run(ctx, sc.State, setup, sc.Params)
		if err != nil {
			log.Error("contract: provider state", logState, sc.State, logAction, sc.Action, logError, err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		log.Debug("contract: provider state", logState, sc.State, logAction, sc.Action)
		if vals == nil {
			vals = map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(vals)
	})
}

// readPacts lists the interactions of the pact files.
func readPacts(files []string) ([]Case, error) {
	var out []Case
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("contract: read pact: %w", err)
		}
		var p struct {
			Consumer, Provider struct{ Name string }
			Interactions       []struct {
				Description    string
				ProviderStates []struct{ Name string }
			}
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("contract: pact %s: %w", f, err)
		}
		for _, in := range p.Interactions {
			c := Case{Pact: p.Consumer.Name + " -> " + p.Provider.Name, Description: in.Description}
			for _, s := range in.ProviderStates {
				c.States = append(c.States, s.Name)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// readFailures reads the verifier's JSON result: the interactions that
// failed, by description, with what differed. The verifier names an
// interaction "Verifying a pact between C and P Given S - description".
func readFailures(raw []byte, cases []Case) (map[string]string, error) {
	var res struct {
		Errors []struct {
			Interaction string `json:"interaction"`
			Mismatch    struct {
				Type       string `json:"type"`
				Message    string `json:"message"`
				Mismatches []struct {
					Path     string `json:"path"`
					Mismatch string `json:"mismatch"`
				} `json:"mismatches"`
			} `json:"mismatch"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("contract: verifier result: %w", err)
	}
	out := map[string]string{}
	for _, e := range res.Errors {
		var lines []string
		if e.Mismatch.Message != "" {
			lines = append(lines, e.Mismatch.Message)
		}
		for _, m := range e.Mismatch.Mismatches {
			lines = append(lines, strings.TrimSpace(m.Path+" "+m.Mismatch))
		}
		if len(lines) == 0 {
			lines = append(lines, e.Mismatch.Type)
		}
		for _, c := range cases {
			if strings.HasSuffix(e.Interaction, " - "+c.Description) {
				out[c.Description] = strings.Join(lines, "\n")
			}
		}
	}
	return out, nil
}
