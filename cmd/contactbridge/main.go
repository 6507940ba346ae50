// Command contactbridge is the contactbridge toolkit: twins of the HighLevel
// and Marketing 360 APIs, contracts, fixtures and the sync between them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "contactbridge:", err)
		os.Exit(1)
	}
}

// run executes the command line args; main only wires signals and exit codes.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := &cobra.Command{
		Use:           "contactbridge",
		Short:         "Twins, contracts, fixtures and sync for HighLevel and Marketing 360",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.AddCommand(newMockCmd(stdout, stderr))
	root.AddCommand(newFixturesCmd(stdout, stderr))
	root.AddCommand(newBenchCmd(stdout, stderr))
	root.AddCommand(newContractCmd(stdout, stderr))
	return root.ExecuteContext(ctx)
}
