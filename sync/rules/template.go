package rules

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"

	"gopkg.in/yaml.v3"
)

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// json is its argument as JSON: {{ json .contact.tags }}.
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"lower": strings.ToLower,
	"upper": strings.ToUpper,
	"trim":  strings.TrimSpace,
	// default is its first argument when the second is empty:
	// {{ default "there" .contact.firstName }}.
	"default": func(def string, v any) string {
		if s := fmt.Sprint(v); v != nil && s != "" {
			return s
		}
		return def
	},
}

// tmpl is a string of a rule: a literal, or a text/template template
// parsed once. chain is set when the whole string is one field
// ({{ .m360.contact.id }}): its value is then taken as it is (a number, a
// list), not as text.
type tmpl struct {
	text  string
	t     *template.Template
	chain []string
}

// template parses a string and checks every field it names against the
// variables of each trigger.
func (l *loader) template(file string, n *yaml.Node, field string, triggers []string) *tmpl {
	if n.Kind != yaml.ScalarNode {
		l.add(file, n, field, "expected a string")
		return nil
	}
	text := n.Value
	if !strings.Contains(text, "{{") {
		return &tmpl{text: text}
	}
	if len(text) > maxTemplateSize {
		l.add(file, n, field, "the template is longer than %d bytes", maxTemplateSize)
		return nil
	}
	t, err := template.New(field).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		l.add(file, n, field, "template: %s", msg)
		return nil
	}
	if t.Tree == nil || len(t.Templates()) > 1 {
		l.add(file, n, field, "template: {{ define }} is not supported")
		return nil
	}
	var reported []string
	for _, trig := range triggers {
		c := &checker{root: l.cat.vars(trig), vars: map[string]*shape{}}
		c.list(t.Tree.Root, c.root)
		for _, p := range c.problems {
			if slices.Contains(reported, p.msg) {
				continue
			}
			reported = append(reported, p.msg)
			line, col := offsetPosition(text, int(p.pos))
			line, col = exprPosition(n, line, col)
			l.problems = append(l.problems, Problem{File: file, Line: line, Column: col, Field: field, Message: p.msg})
		}
	}
	if len(reported) > 0 {
		return nil
	}
	out := &tmpl{text: text, t: t}
	if nodes := t.Tree.Root.Nodes; len(nodes) == 1 {
		if a, ok := nodes[0].(*parse.ActionNode); ok && len(a.Pipe.Decl) == 0 && len(a.Pipe.Cmds) == 1 && len(a.Pipe.Cmds[0].Args) == 1 {
			if f, ok := a.Pipe.Cmds[0].Args[0].(*parse.FieldNode); ok {
				out.chain = f.Ident
			}
		}
	}
	return out
}

// offsetPosition is the line (1-based) and column (0-based) of a byte
// offset of s.
func offsetPosition(s string, off int) (int, int) {
	off = min(max(off, 0), len(s))
	line := 1 + strings.Count(s[:off], "\n")
	return line, off - (strings.LastIndex(s[:off], "\n") + 1)
}

type tplProblem struct {
	pos parse.Pos
	msg string
}

// checker walks a template's tree, following what dot and each variable
// are, and reports every field a schema does not have.
type checker struct {
	root     *shape
	vars     map[string]*shape
	problems []tplProblem
}

func (c *checker) list(l *parse.ListNode, dot *shape) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		c.node(n, dot)
	}
}

func (c *checker) node(n parse.Node, dot *shape) {
	switch n := n.(type) {
	case *parse.ActionNode:
		c.pipe(n.Pipe, dot)
	case *parse.IfNode:
		c.pipe(n.Pipe, dot)
		c.list(n.List, dot)
		c.list(n.ElseList, dot)
	case *parse.RangeNode:
		over := c.pipe(n.Pipe, dot)
		elem := dynShape
		if over.kind == kindList || over.kind == kindMap {
			elem = over.elem
		}
		if len(n.Pipe.Decl) > 0 {
			c.vars[n.Pipe.Decl[len(n.Pipe.Decl)-1].Ident[0]] = elem
			if len(n.Pipe.Decl) == 2 {
				c.vars[n.Pipe.Decl[0].Ident[0]] = dynShape
			}
		}
		c.list(n.List, elem)
		c.list(n.ElseList, dot)
	case *parse.WithNode:
		inner := c.pipe(n.Pipe, dot)
		c.list(n.List, inner)
		c.list(n.ElseList, dot)
	case *parse.TemplateNode:
		c.problems = append(c.problems, tplProblem{n.Pos, "{{ template }} is not supported"})
	}
}

// pipe checks a pipeline and returns the shape of its value (dyn unless it
// is one field).
func (c *checker) pipe(p *parse.PipeNode, dot *shape) *shape {
	if p == nil {
		return dynShape
	}
	out := dynShape
	for _, cmd := range p.Cmds {
		for _, a := range cmd.Args {
			sh := c.arg(a, dot)
			if len(p.Cmds) == 1 && len(cmd.Args) == 1 {
				out = sh
			}
		}
	}
	for _, v := range p.Decl {
		c.vars[v.Ident[0]] = out
	}
	return out
}

func (c *checker) arg(n parse.Node, dot *shape) *shape {
	switch n := n.(type) {
	case *parse.FieldNode:
		return c.chain(dot, n.Ident, n.Pos, "")
	case *parse.VariableNode:
		base := c.root
		if n.Ident[0] != "$" {
			if v, ok := c.vars[n.Ident[0]]; ok {
				base = v
			} else {
				base = dynShape
			}
		}
		return c.chain(base, n.Ident[1:], n.Pos, n.Ident[0])
	case *parse.DotNode:
		return dot
	case *parse.PipeNode:
		return c.pipe(n, dot)
	case *parse.ChainNode:
		c.arg(n.Node, dot)
	}
	return dynShape
}

// chain follows fields from sh and reports the first one that is not there.
func (c *checker) chain(sh *shape, idents []string, pos parse.Pos, prefix string) *shape {
	path := prefix
	for _, id := range idents {
		f, ok := sh.field(id)
		if !ok {
			msg := fmt.Sprintf("unknown field %s in %s", id, describe(path, sh))
			if sh.kind == kindObject {
				msg += fmt.Sprintf(" (it has %s)", strings.Join(sh.fieldNames(), ", "))
			}
			c.problems = append(c.problems, tplProblem{pos, msg})
			return dynShape
		}
		path += "." + id
		sh = f
	}
	return sh
}

func describe(path string, sh *shape) string {
	if path == "" {
		path = "."
	}
	switch sh.kind {
	case kindObject:
		if sh.name != "" {
			return path + " (" + sh.name + ")"
		}
	case kindList:
		return path + ", a list"
	case kindString, kindInt, kindDouble, kindBool:
		return path + ", a scalar"
	}
	return path
}

// render is the template's value on vars: text, or for a template that is
// one field the field's value; then typed as sh says.
func (t *tmpl) render(vars map[string]any, sh *shape) (any, error) {
	var v any
	switch {
	case t.t == nil:
		v = t.text
	case t.chain != nil:
		var cur any = vars
		for i, id := range t.chain {
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: .%s is not an object", t.text, strings.Join(t.chain[:i], "."))
			}
			if cur, ok = m[id]; !ok {
				return nil, fmt.Errorf("%s: .%s is not set", t.text, strings.Join(t.chain[:i+1], "."))
			}
		}
		v = cur
	default:
		var b strings.Builder
		if err := t.t.Execute(&b, vars); err != nil {
			return nil, fmt.Errorf("%s: %w", t.text, err)
		}
		v = b.String()
	}
	return typed(v, sh)
}

// typed converts a rendered value to the type the schema wants where that
// can be told: "42" to 42 for an integer, 1001 to "1001" for a string.
func typed(v any, sh *shape) (any, error) {
	switch x := v.(type) {
	case string:
		var (
			out any
			err error
		)
		switch sh.kind {
		case kindInt:
			out, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		case kindDouble:
			out, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
		case kindBool:
			out, err = strconv.ParseBool(strings.TrimSpace(x))
		default:
			return x, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid %s", x, kindNames[sh.kind])
		}
		return out, nil
	case float64:
		switch sh.kind {
		case kindString:
			return strconv.FormatFloat(x, 'f', -1, 64), nil
		case kindInt:
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		}
	case bool:
		if sh.kind == kindString {
			return strconv.FormatBool(x), nil
		}
	}
	return v, nil
}

var kindNames = map[kind]string{kindInt: "integer", kindDouble: "number", kindBool: "boolean"}
