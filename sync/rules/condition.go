package rules

import (
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"gopkg.in/yaml.v3"
)

// condition is a rule's if, compiled for each of its triggers (their
// entities differ).
type condition struct {
	text     string
	programs map[string]cel.Program
}

// condition compiles and type-checks an if against each trigger's
// variables.
func (l *loader) condition(loc located, field string, triggers []string) *condition {
	text, ok := l.scalar(loc, field)
	if !ok {
		return nil
	}
	if len(text) > maxConditionBytes {
		l.add(loc.file, loc.val, field, "the condition is longer than %d bytes", maxConditionBytes)
		return nil
	}
	c := &condition{text: text, programs: map[string]cel.Program{}}
	var reported []string
	for _, t := range triggers {
		env, err := l.cat.env(t)
		if err != nil {
			l.add(loc.file, loc.val, field, "%v", err)
			return nil
		}
		ast, iss := env.Compile(text)
		if iss.Err() != nil {
			for _, e := range iss.Errors() {
				msg := e.Message
				if len(triggers) > 1 {
					msg += " (on " + t + ")"
				}
				if slices.Contains(reported, e.Message) {
					continue
				}
				reported = append(reported, e.Message)
				line, col := exprPosition(loc.val, e.Location.Line(), e.Location.Column())
				l.problems = append(l.problems, Problem{File: loc.file, Line: line, Column: col, Field: field, Message: msg})
			}
			continue
		}
		if ast.OutputType() != cel.BoolType {
			l.add(loc.file, loc.val, field, "the condition is a %s, not a bool", ast.OutputType())
			return nil
		}
		prg, err := env.Program(ast, cel.CostLimit(maxConditionCost), cel.EvalOptions(cel.OptOptimize))
		if err != nil {
			l.add(loc.file, loc.val, field, "%v", err)
			continue
		}
		c.programs[t] = prg
	}
	if len(reported) > 0 {
		return nil
	}
	return c
}

// exprPosition is where in the file an expression's line and column (1-
// and 0-based) are: exact for a one-line scalar, the line for a block.
func exprPosition(n *yaml.Node, line, col int) (int, int) {
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		return n.Line + max(line, 1), n.Column + 2 + max(col, 0)
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line <= 1 {
			return n.Line, n.Column + 1 + max(col, 0)
		}
	default:
		if line <= 1 {
			return n.Line, n.Column + max(col, 0)
		}
	}
	return n.Line + line - 1, 1
}

// eval evaluates the condition for a trigger; a rule without one holds.
func (c *condition) eval(trigger string, vars map[string]any) (bool, error) {
	if c == nil {
		return true, nil
	}
	prg, ok := c.programs[trigger]
	if !ok {
		return false, fmt.Errorf("rules: no condition for %s", trigger)
	}
	out, _, err := prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", strings.TrimSpace(c.text), err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is %v, not a bool", strings.TrimSpace(c.text), out)
	}
	return b, nil
}
