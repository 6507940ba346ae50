// Command contactbridge is the contactbridge toolkit: stateful twins of the
// HighLevel Contacts API v2 and the Marketing 360 API, deterministic fixtures
// for them and for sandbox accounts, and a performance harness for the twin.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// The exit status of a run.
const (
	exitOK     = 0
	exitFailed = 1 // the command failed, also when it failed for only some records
	exitUsage  = 2 // the command line is wrong: unknown command or flag, bad value
	// An interrupted run exits with 128 plus the signal's number: 130 for
	// SIGINT, 143 for SIGTERM, as shells report a process killed by it.
	exitSignalBase = 128
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	finished := make(chan struct{})
	go func() {
		select {
		case s := <-sigs:
			signal.Stop(sigs) // a second signal ends the process at once
			cancel(interrupted{s})
		case <-finished:
		}
	}()
	code := Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	close(finished)
	signal.Stop(sigs)
	cancel(nil)
	os.Exit(code)
}

// interrupted is the cause of a run's context when a signal ended it.
type interrupted struct{ sig os.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

// Main runs the command line args and returns the exit status; errors go to
// stderr in the user's words, with a --help hint when the command line is
// wrong. A ctx cancelled with an interrupted cause makes it exit as that
// signal does.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := run(ctx, args, stdout, stderr)
	var in interrupted
	if errors.As(context.Cause(ctx), &in) {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "contactbridge:", err)
		}
		if sig, ok := in.sig.(syscall.Signal); ok {
			return exitSignalBase + int(sig)
		}
		return exitSignalBase + int(syscall.SIGINT)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "contactbridge:", err)
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", usage.command)
		return exitUsage
	}
	return exitFailed
}

// usageError is a wrong command line: Main exits with exitUsage and points
// to the command's help.
type usageError struct {
	command string // the command path, "contactbridge fixtures load"
	err     error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf makes a usageError of cmd.
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{command: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}

// run executes the command line args; Main turns its error into an exit
// status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:   "contactbridge",
		Short: "Twins of the HighLevel and Marketing 360 APIs, fixtures for them, and a benchmark",
		Long: `contactbridge runs stateful twins of the HighLevel Contacts API v2 and the
Marketing 360 API on loopback (mock), generates deterministic data sets and loads
them into the twins or sandbox accounts (fixtures), measures the twin against a
bare net/http server (bench), stores the credentials of real or twin accounts: a
HighLevel OAuth install, a Marketing 360 API key (connect), and verifies the sync's
Pact contracts, the specs' conformance and their differences against any base URL
(contract).

Exit status: 0 done; 1 failed, also when only some records failed; 2 a wrong
command line; 130 interrupted (SIGINT), 143 stopped (SIGTERM).`,
		Version:       version(),
		Args:          cobra.ArbitraryArgs,
		RunE:          runGroup,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetFlagErrorFunc(flagError)
	root.PersistentFlags().Var(new(logFormat), "log-format", "log as text or json (default: text on a terminal, json otherwise)")
	_ = root.RegisterFlagCompletionFunc("log-format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	root.AddCommand(newMockCmd(stdout, stderr))
	root.AddCommand(newFixturesCmd(stdout, stderr))
	root.AddCommand(newBenchCmd(stdout, stderr))
	root.AddCommand(newVersionCmd(stdout))
	root.AddCommand(newConnectCmd(stdout))
	root.AddCommand(newContractCmd(stdout, stderr))
	root.AddCommand(newSyncCmd(stdout, stderr))
	root.AddCommand(newRulesCmd(stdout, stderr))
	root.AddCommand(newUpCmd(stdout, stderr))
	root.SetHelpCommand(newHelpCmd(root))
	return root.ExecuteContext(ctx)
}

// newHelpCmd is "help [command]": the command's help, and a usage error
// for a command that does not exist (cobra's own prints the root's help and
// succeeds).
func newHelpCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help shows the help of any command: contactbridge help fixtures load.",
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			cmd, _, err := root.Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name()+"\t"+sub.Short)
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(_ *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			switch {
			case err != nil:
				return usageErrorf(root, "no command %q to show the help of", strings.Join(args, " "))
			case len(rest) > 0:
				return usageErrorf(cmd, "no command %q to show the help of", strings.Join(args, " "))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// runGroup is the RunE of a command that only holds subcommands: alone it
// shows its help; with an argument that is no subcommand it is an error.
func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return usageErrorf(cmd, "%s", msg)
}

// noArgs is the Args of a command that takes none.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf(cmd, "%s takes no arguments, got %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// exactArgs is the Args of a command that takes n arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErrorf(cmd, "%s takes %d arguments, got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// flagError says what a flag wants instead of the parser's words
// (strconv.ParseInt: ...), and marks the error as a usage error.
func flagError(cmd *cobra.Command, err error) error {
	var invalid *pflag.InvalidValueError
	if errors.As(err, &invalid) {
		fl := invalid.GetFlag()
		want := ""
		switch fl.Value.Type() {
		case "int", "int64":
			want = "a whole number"
		case "uint", "uint64":
			want = "a whole number, 0 or more"
		case "float64":
			want = "a number"
		case "duration":
			want = "a duration such as 500ms, 30s or 5m"
		case "bool":
			want = "true or false"
		default:
			want = errors.Unwrap(invalid).Error()
		}
		err = fmt.Errorf("--%s %q: want %s", fl.Name, invalid.GetValue(), want)
	}
	return &usageError{command: cmd.CommandPath(), err: err}
}

// logFormat is the value of --log-format: "" until set, then text or json.
type logFormat string

func (f *logFormat) String() string { return string(*f) }
func (f *logFormat) Type() string   { return "format" }
func (f *logFormat) Set(s string) error {
	if s != "text" && s != "json" {
		return errors.New("text or json")
	}
	*f = logFormat(s)
	return nil
}

// newLogger is the logger of cmd writing to w: as --log-format says, or
// text on a terminal and JSON otherwise.
func newLogger(cmd *cobra.Command, w io.Writer, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	format := ""
	if fl := cmd.Flag("log-format"); fl != nil {
		format = fl.Value.String()
	}
	if format == "json" || format == "" && !isTerminal(w) {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// isTerminal tells whether w is a terminal; a writer may say so itself
// with an IsTerminal method (the tests' fake terminals do).
func isTerminal(w io.Writer) bool {
	if t, ok := w.(interface{ IsTerminal() bool }); ok {
		return t.IsTerminal()
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
