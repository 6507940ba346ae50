package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this binary",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(stdout, cmd.Root().Name(), version())
			return err
		},
	}
}

// version describes this binary from its build information.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	return versionOf(bi, ok)
}

// versionOf is "v1.2.3 (commit abc…, modified) go1.26.0 linux/amd64": the
// module version ("devel" for a build of a checkout without one), the
// commit and whether the tree had changes when it was built, when go build
// stamped them, and the Go version and platform.
func versionOf(bi *debug.BuildInfo, ok bool) string {
	v, commit, modified := "devel", "", false
	if ok {
		if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if commit != "" {
		if modified {
			commit += ", modified"
		}
		v += " (commit " + commit + ")"
	}
	return v + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
