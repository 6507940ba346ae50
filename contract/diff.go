package contract

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/oasdiff/oasdiff/checker"
	"github.com/oasdiff/oasdiff/diff"
	"github.com/oasdiff/oasdiff/load"

	"github.com/contactbridge/contactbridge/openapi"
)

// SpecChange is one difference between two OpenAPI documents.
type SpecChange struct {
	// Level is "error" (breaking), "warning" or "info".
	Level    string
	Breaking bool
	ID       string // oasdiff's rule id
	Method   string
	Path     string
	Text     string
}

// DiffReport is what changed from Old to New, breaking changes first.
type DiffReport struct {
	Old, New string
	Changes  []SpecChange
}

// Breaking counts the breaking changes.
func (d *DiffReport) Breaking() int {
	n := 0
	for _, c := range d.Changes {
		if c.Breaking {
			n++
		}
	}
	return n
}

// builtInSpecs load the documents a diff or check can name instead of a
// file.
var builtInSpecs = map[string]func(context.Context, string) (*openapi.Spec, error){
	"highlevel": openapi.LoadHighLevel,
	"m360":      openapi.LoadMarketing360,
}

// BuiltInDoc is our document called name (highlevel, m360), or false.
func BuiltInDoc(ctx context.Context, name string) (*openapi3.T, bool, error) {
	load, ok := builtInSpecs[name]
	if !ok {
		return nil, false, nil
	}
	spec, err := load(ctx, "")
	if err != nil {
		return nil, true, fmt.Errorf("contract: %w", err)
	}
	return spec.Doc, true, nil
}

// Diff compares two OpenAPI documents (files, URLs, or the names
// highlevel and m360 of ours) with oasdiff's checks, every level.
func Diff(ctx context.Context, oldSpec, newSpec string) (*DiffReport, error) {
	s1, err := loadSpecInfo(ctx, oldSpec)
	if err != nil {
		return nil, err
	}
	s2, err := loadSpecInfo(ctx, newSpec)
	if err != nil {
		return nil, err
	}
	d, sources, err := diff.GetWithOperationsSourcesMap(diff.NewConfig(), s1, s2)
	if err != nil {
		return nil, fmt.Errorf("contract: diff %s %s: %w", oldSpec, newSpec, err)
	}
	changes := checker.CheckBackwardCompatibilityUntilLevel(checker.NewConfig(checker.GetAllChecks()), d, sources, checker.INFO)
	l := checker.NewDefaultLocalizer()
	rep := &DiffReport{Old: oldSpec, New: newSpec}
	for _, c := range changes {
		rep.Changes = append(rep.Changes, SpecChange{Level: c.GetLevel().String(), Breaking: c.IsBreaking(), ID: c.GetId(),
			Method: c.GetOperation(), Path: c.GetPath(), Text: c.GetUncolorizedText(l)})
	}
	// Breaking first, then by level; oasdiff's order within.
	slices.SortStableFunc(rep.Changes, func(a, b SpecChange) int { return levelRank(a) - levelRank(b) })
	return rep, nil
}

func levelRank(c SpecChange) int {
	switch {
	case c.Breaking:
		return 0
	case c.Level == checker.WARN.String():
		return 1
	}
	return 2
}

func loadSpecInfo(ctx context.Context, spec string) (*load.SpecInfo, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	doc, builtIn, err := BuiltInDoc(ctx, spec)
	if err != nil {
		return nil, err
	}
	var info *load.SpecInfo
	if builtIn {
		data, merr := doc.MarshalJSON()
		if merr != nil {
			return nil, fmt.Errorf("contract: %s: %w", spec, merr)
		}
		info, err = load.NewSpecInfoFromData(loader, data, spec)
	} else {
		info, err = load.NewSpecInfo(loader, load.NewSource(spec))
	}
	if err != nil {
		return nil, fmt.Errorf("contract: load %s: %w", spec, err)
	}
	return info, nil
}

// WriteMarkdown writes the changes, breaking ones first.
func (d *DiffReport) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s → %s\n\n%d changes, %d breaking.\n\n", d.Old, d.New, len(d.Changes), d.Breaking())
	section := ""
	for _, c := range d.Changes {
		title := map[int]string{0: "Breaking", 1: "Warnings", 2: "Other changes"}[levelRank(c)]
		if title != section {
			fmt.Fprintf(&b, "## %s\n\n", title)
			section = title
		}
		where := strings.TrimSpace(c.Method + " " + c.Path)
		if where != "" {
			where = "`" + where + "`: "
		}
		fmt.Fprintf(&b, "- %s%s (%s)\n", where, c.Text, c.ID)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
