//go:build pact

package contract

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/pact-foundation/pact-go/v2/consumer"
	"github.com/pact-foundation/pact-go/v2/log"
	"github.com/pact-foundation/pact-go/v2/matchers"
	"github.com/pact-foundation/pact-go/v2/models"
)

// pactDir holds the committed pacts, which the provider tests verify.
const pactDir = "pacts"

// outDir is where the consumer tests write the pacts: CONTRACT_PACT_DIR
// (make contract moves them into pacts/ when every consumer test passed),
// else pacts/ itself.
func outDir() string {
	if d := os.Getenv("CONTRACT_PACT_DIR"); d != "" {
		return d
	}
	return pactDir
}

// Patterns of the values the consumers match by regex.
const (
	reHighLevelID = `^[A-Za-z0-9]{20}$`
	reISOMillis   = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`
	reEmail       = `^[^@\s]+@[^@\s]+$`
	reDigits      = `^\d+$`
	reJSON        = `^application/json(;.*)?$`
	reISOTime     = `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$`
)

func TestMain(m *testing.M) {
	if os.Getenv("PACT_DO_NOT_TRACK") != "true" {
		fmt.Fprintln(os.Stderr, "contract: set PACT_DO_NOT_TRACK=true (make contract does)")
		os.Exit(2)
	}
	if err := log.SetLogLevel("ERROR"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// obj is a JSON object of values and matchers.
type obj = map[string]any

// interaction is one consumer expectation: a state, the request the
// client sends and the answer it handles; call makes the request with the
// client under test and checks what it read.
type interaction struct {
	state   string
	params  map[string]any
	desc    string
	method  consumer.Method
	path    matchers.Matcher
	request func(*consumer.V4RequestBuilder)
	status  int
	answer  func(*consumer.V4ResponseBuilder)
	call    func(consumer.MockServerConfig) error
}

// newPact is a pact between the sync and provider, written to dir.
func newPact(t *testing.T, provider, dir string) *consumer.V4HTTPMockProvider {
	t.Helper()
	p, err := consumer.NewV4Pact(consumer.MockHTTPProviderConfig{
		Consumer: Consumer, Provider: provider, Host: "127.0.0.1", PactDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run declares each interaction and runs the client against Pact's mock
// server, one after the other so the file keeps their order.
func run(t *testing.T, p *consumer.V4HTTPMockProvider, list []interaction) {
	t.Helper()
	for _, in := range list {
		t.Run(in.desc, func(t *testing.T) {
			if err := declare(p, in).ExecuteTest(t, in.call); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func declare(p *consumer.V4HTTPMockProvider, in interaction) *consumer.V4InteractionWithResponse {
	i := p.AddInteraction()
	if in.state != "" {
		i = i.GivenWithParameter(models.ProviderState{Name: in.state, Parameters: in.params})
	}
	req := func(b *consumer.V4RequestBuilder) {
		if in.request != nil {
			in.request(b)
		}
	}
	return i.UponReceiving(in.desc).
		WithRequestPathMatcher(in.method, in.path, req).
		WillRespondWith(in.status, func(b *consumer.V4ResponseBuilder) {
			b.Header("Content-Type", matchers.Regex("application/json; charset=utf-8", reJSON))
			in.answer(b)
		})
}

// fromState is a value the provider state gives at verification
// (expression "${key}"), example in the consumer test.
func fromState(expression, example string) matchers.Matcher {
	return matchers.FromProviderState(expression, example)
}

// intFromState is an integer the provider state gives: pact-go's
// FromProviderState only has string examples, so the matcher is written
// in Pact's integration JSON.
func intFromState(key string, example int64) map[string]any {
	return map[string]any{
		"pact:matcher:type":   "integer",
		"pact:generator:type": "ProviderState",
		"expression":          "${" + key + "}",
		"value":               example,
	}
}

// callWith runs f with a client of the mock server made by newClient.
func callWith[C any](newClient func(consumer.MockServerConfig) (C, error), f func(context.Context, C) error) func(consumer.MockServerConfig) error {
	return func(cfg consumer.MockServerConfig) error {
		c, err := newClient(cfg)
		if err != nil {
			return err
		}
		return f(context.Background(), c)
	}
}

// failsWith expects f to end in an error matching is.
func failsWith[C any](is error, f func(context.Context, C) error) func(context.Context, C) error {
	return func(ctx context.Context, c C) error {
		if err := f(ctx, c); !errors.Is(err, is) {
			return fmt.Errorf("err = %v, want %v", err, is)
		}
		return nil
	}
}

// want fails with what differs when got is not what the client should
// have read.
func want[T comparable](what string, got, want T) error {
	if got != want {
		return fmt.Errorf("%s = %v, want %v", what, got, want)
	}
	return nil
}
