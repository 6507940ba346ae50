// Package rules reads rule files (a trigger, a condition in CEL, actions
// that are operations of either API with parameters and bodies from
// text/template templates), checks every condition and template against
// the specs' schemas when they load, and plans the requests a change asks
// for (engine.Rules). The engine's six flows are the default rule set,
// default.yaml, whose actions are built-in steps.
package rules

import (
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/sync/engine"
)

// Bounds of a rule file.
const (
	MaxFileBytes    = 1 << 20
	MaxRules        = 1000
	MaxActions      = 50
	maxYAMLDepth    = 32
	maxTemplateSize = 16 << 10
)

// Once values.
const (
	OncePerChange = "per-change" // once per (entity, version)
	OncePerEntity = "per-entity" // once per entity, ever
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultFile is the default rule set's name in problems.
const DefaultFile = "default.yaml"

// Default returns a copy of the default rule set's file.
func Default() []byte { return slices.Clone(defaultYAML) }

// ErrInvalid is what every Problems error is (errors.Is).
var ErrInvalid = errors.New("rules: invalid rule file")

// Problem is one mistake in a rule file, where it is.
type Problem struct {
	File         string
	Line, Column int
	// Field is the field the problem is in: "rules[2](vip).if",
	// "rules[1](vip).do[1].body.contactId" (the rule named once it is known).
	Field   string
	Message string
}

// String is "file:line:col: field: message".
func (p Problem) String() string {
	field := ""
	if p.Field != "" {
		field = p.Field + ": "
	}
	return fmt.Sprintf("%s:%d:%d: %s%s", p.File, p.Line, p.Column, field, p.Message)
}

// Problems are the mistakes of a set of rule files, in file order; as an
// error, one a line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes Problems an ErrInvalid.
func (ps Problems) Is(target error) bool { return target == ErrInvalid }

// Source is a rule file: its name in problems and its content. Path are the
// keys of the mapping that holds the rules list ("rules" when nil; "sync",
// "rules" for contactbridge.yaml).
type Source struct {
	Name string
	Data []byte
	Path []string
	// builtin marks the default rules' own file.
	builtin bool
}

// Options of Load.
type Options struct {
	// Catalog checks the rules (required).
	Catalog *Catalog
	// Flows are the flows as the config (sync.flows) has them, which the
	// default rules' steps take their texts from unless a rule file
	// overrides them (nil means engine.DefaultFlows()).
	Flows *engine.Flows
}

// located is a node of a file; builtin tells the default rules' file.
type located struct {
	file     string
	key, val *yaml.Node
	builtin  bool
}

// rawRule is a rule as read, its fields by name, before it is compiled.
type rawRule struct {
	file   string
	node   *yaml.Node
	field  string // "rules[2]"
	name   string
	fields map[string]located
	// builtin tells a rule of the default file; overridden one a rule
	// file changed, and defaults are
	// its fields as the default file has them.
	builtin, overridden bool
	defaults            map[string]located
}

var ruleFields = []string{"name", "enabled", "on", "if", "once", "do"}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// loader gathers the problems of a load.
type loader struct {
	cat      *Catalog
	problems Problems
}

func (l *loader) add(file string, n *yaml.Node, field, format string, args ...any) {
	p := Problem{File: file, Line: 1, Column: 1, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		p.Line, p.Column = n.Line, n.Column
	}
	l.problems = append(l.problems, p)
}

// Load reads the default rule set, then the sources in order: a rule named
// as a default one overrides the fields it sets, any other is added. Every
// condition and template is compiled and checked; a set with any problem
// is not made, and the error is Problems.
func Load(opts Options, sources ...Source) (*Set, error) {
	if opts.Catalog == nil {
		return nil, errors.New("rules: Load needs a Catalog")
	}
	l := &loader{cat: opts.Catalog}
	defaults := l.read(Source{Name: DefaultFile, Data: defaultYAML, builtin: true})
	byName := map[string]*rawRule{}
	var order []*rawRule
	for _, r := range defaults {
		byName[r.name] = r
		order = append(order, r)
	}
	seen := map[string]located{}
	for _, src := range sources {
		for _, r := range l.read(src) {
			if prev, dup := seen[r.name]; dup {
				l.add(r.file, r.fields["name"].val, r.field+".name", "rule %q is defined twice (first at %s:%d)", r.name,
					prev.file, prev.val.Line)
				continue
			}
			seen[r.name] = r.fields["name"]
			if d, ok := byName[r.name]; ok && slices.Contains(defaults, d) {
				d.defaults = maps.Clone(d.fields)
				for k, v := range r.fields {
					d.fields[k] = v
				}
				d.overridden = true
				continue
			}
			byName[r.name] = r
			order = append(order, r)
		}
		if len(order) > MaxRules {
			l.add(src.Name, nil, "rules", "more than %d rules", MaxRules)
			return nil, l.problems
		}
	}
	base := engine.DefaultFlows()
	if opts.Flows != nil {
		base = *opts.Flows
	}
	s := &Set{cat: opts.Catalog, byTrigger: map[string][]*rule{}, flows: base}
	for _, raw := range order {
		r := l.compile(raw)
		if r == nil {
			continue
		}
		s.rules = append(s.rules, r)
		if r.builtin != nil {
			if raw.overridden {
				builtinFlows(&s.flows, raw, r)
			}
			continue
		}
		if r.enabled {
			for _, t := range r.on {
				s.byTrigger[t] = append(s.byTrigger[t], r)
			}
		}
	}
	if len(l.problems) > 0 {
		return nil, l.problems
	}
	return s, nil
}

var yamlErrLine = regexp.MustCompile(`line (\d+)`)

// read parses a source into its rules' fields.
func (l *loader) read(src Source) []*rawRule {
	if len(src.Data) > MaxFileBytes {
		l.add(src.Name, nil, "", "the file is larger than %d bytes", MaxFileBytes)
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src.Data, &doc); err != nil {
		p := Problem{File: src.Name, Line: 1, Column: 1, Message: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
		if m := yamlErrLine.FindStringSubmatch(err.Error()); m != nil {
			p.Line, _ = strconv.Atoi(m[1])
		}
		l.problems = append(l.problems, p)
		return nil
	}
	if len(doc.Content) == 0 {
		return nil // an empty file has no rules
	}
	if d := depth(&doc, 0); d > maxYAMLDepth {
		l.add(src.Name, doc.Content[0], "", "nested deeper than %d levels", maxYAMLDepth)
		return nil
	}
	path := src.Path
	if path == nil {
		path = []string{"rules"}
	}
	n := doc.Content[0]
	if n.Kind == yaml.AliasNode {
		l.add(src.Name, n, "", "YAML aliases are not supported in rule files")
		return nil
	}
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			l.add(src.Name, n, key, "expected a mapping with a %q key", key)
			return nil
		}
		v := lookup(n, key)
		if v == nil {
			return nil // no rules there: a config file without them
		}
		n = v
	}
	field := strings.Join(path, ".")
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.add(src.Name, n, field, "expected a list of rules")
		return nil
	}
	var out []*rawRule
	for i, rn := range n.Content {
		rf := fmt.Sprintf("rules[%d]", i+1)
		if rn.Kind != yaml.MappingNode {
			l.add(src.Name, rn, rf, "a rule is a mapping (name, on, if, once, do)")
			continue
		}
		r := &rawRule{file: src.Name, node: rn, field: rf, fields: map[string]located{}, builtin: src.builtin}
		for j := 0; j+1 < len(rn.Content); j += 2 {
			k, v := rn.Content[j], rn.Content[j+1]
			if !slices.Contains(ruleFields, k.Value) {
				l.add(src.Name, k, rf+"."+k.Value, "unknown field (a rule has %s)", strings.Join(ruleFields, ", "))
				continue
			}
			if _, dup := r.fields[k.Value]; dup {
				l.add(src.Name, k, rf+"."+k.Value, "set twice")
				continue
			}
			r.fields[k.Value] = located{file: src.Name, key: k, val: v, builtin: src.builtin}
		}
		name, ok := r.fields["name"]
		switch {
		case !ok:
			l.add(src.Name, rn, rf, "a rule needs a name")
			continue
		case name.val.Kind != yaml.ScalarNode || !validName.MatchString(name.val.Value):
			l.add(src.Name, name.val, rf+".name", "%q is not a name: lower-case letters, digits and dashes, at most 63", name.val.Value)
			continue
		}
		r.name = name.val.Value
		r.field = fmt.Sprintf("rules[%d](%s)", i+1, r.name)
		out = append(out, r)
	}
	return out
}

// depth is how deeply n nests; aliases count as their own level only.
func depth(n *yaml.Node, d int) int {
	if d > maxYAMLDepth {
		return d
	}
	most := d
	for _, c := range n.Content {
		most = max(most, depth(c, d+1))
	}
	return most
}

// lookup finds the value of a key of a mapping node.
func lookup(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar reads a field that must be a string.
func (l *loader) scalar(loc located, field string) (string, bool) {
	if loc.val.Kind != yaml.ScalarNode || loc.val.Tag == "!!null" {
		l.add(loc.file, loc.val, field, "expected a string")
		return "", false
	}
	return loc.val.Value, true
}

// compile checks a rule and compiles its condition and templates; nil
// when it has problems (they are added).
func (l *loader) compile(raw *rawRule) *rule {
	before := len(l.problems)
	r := &rule{name: raw.name, file: raw.file, line: raw.node.Line, enabled: true, once: OncePerChange}
	if loc, ok := raw.fields["enabled"]; ok {
		var b bool
		if loc.val.Kind != yaml.ScalarNode || loc.val.Decode(&b) != nil {
			l.add(loc.file, loc.val, raw.field+".enabled", "expected true or false")
		}
		r.enabled = b
	}
	if loc, ok := raw.fields["once"]; ok {
		if v, ok := l.scalar(loc, raw.field+".once"); ok {
			if v != OncePerChange && v != OncePerEntity {
				l.add(loc.file, loc.val, raw.field+".once", "%q is neither %s nor %s", v, OncePerChange, OncePerEntity)
			}
			r.once = v
		}
	}
	loc, ok := raw.fields["on"]
	if !ok {
		l.add(raw.file, raw.node, raw.field+".on", "a rule needs a trigger (on: [highlevel.ContactCreate, ...])")
		return nil
	}
	r.on = l.triggers(loc, raw.field+".on")
	if raw.builtin {
		r.builtin = builtins[raw.name]
	}
	if cond, ok := raw.fields["if"]; ok {
		r.cond = l.condition(cond, raw.field+".if", r.on)
	}
	do, ok := raw.fields["do"]
	switch {
	case !ok:
		l.add(raw.file, raw.node, raw.field+".do", "a rule needs actions (do: [...])")
	case do.val.Kind != yaml.SequenceNode || len(do.val.Content) == 0:
		l.add(do.file, do.val, raw.field+".do", "expected a list of actions")
	case len(do.val.Content) > MaxActions:
		l.add(do.file, do.val, raw.field+".do", "more than %d actions", MaxActions)
	default:
		names := map[string]bool{}
		for i, an := range do.val.Content {
			a := l.action(do.file, an, fmt.Sprintf("%s.do[%d]", raw.field, i+1), i+1, r)
			if a == nil {
				continue
			}
			if names[a.name] {
				l.add(do.file, an, fmt.Sprintf("%s.do[%d].name", raw.field, i+1), "action %q is named twice", a.name)
			}
			names[a.name] = true
			r.actions = append(r.actions, a)
		}
	}
	l.checkBuiltin(raw, r)
	if len(l.problems) > before {
		return nil
	}
	return r
}

// triggers reads on: one trigger or a list.
func (l *loader) triggers(loc located, field string) []string {
	items := []*yaml.Node{loc.val}
	if loc.val.Kind == yaml.SequenceNode {
		items = loc.val.Content
	}
	if len(items) == 0 {
		l.add(loc.file, loc.val, field, "a rule needs a trigger")
	}
	var out []string
	for _, n := range items {
		if n.Kind != yaml.ScalarNode {
			l.add(loc.file, n, field, "expected a trigger name")
			continue
		}
		if _, ok := l.cat.triggers[n.Value]; !ok {
			l.add(loc.file, n, field, "unknown event %q (the triggers are `contactbridge sync catalog`'s, prefixed by their API: highlevel.ContactCreate, m360.task.completed)%s",
				n.Value, suggestion(n.Value, l.cat.Triggers()))
			continue
		}
		if !slices.Contains(out, n.Value) {
			out = append(out, n.Value)
		}
	}
	return out
}
