// Command gen writes the Go files that build the openapi package's embedded
// specs (golit.Specs), from the specs in the current directory:
//
//	go generate ./openapi/
package main

import (
	"fmt"
	"os"

	"github.com/contactbridge/contactbridge/openapi/internal/golit"
)

func main() {
	files, err := golit.Generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, src := range files {
		if err := os.WriteFile(name, src, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
