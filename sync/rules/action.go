package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// action is one compiled action of a rule: an operation with its
// parameters and body, or a built-in step of a default rule.
type action struct {
	name string
	api  string
	op   string
	// method and path as the spec has them ("/v1/contacts/{contactId}").
	method, path string
	pathParams   []param
	query        []param
	body         *body
	// step is a built-in step's name; title, tasks and note its texts in
	// the engine's {contact} form (tasks nil when not set).
	step  string
	title string
	tasks []string
	note  string
}

// param is a parameter and its template(s) (a query parameter can take a
// list).
type param struct {
	name   string
	values []*tmpl
	shape  *shape
}

// body is a request body as a rule writes it: an object, a list or a
// string (a template or a literal), or another scalar as YAML has it.
type body struct {
	shape  *shape
	keys   []string
	fields map[string]*body
	items  []*body
	str    *tmpl
	lit    any
}

var actionFields = []string{"name", "operation", "params", "body", "builtin", "title", "tasks", "note"}

// action reads one action of a rule.
func (l *loader) action(file string, n *yaml.Node, field string, index int, r *rule) *action {
	if n.Kind != yaml.MappingNode {
		l.add(file, n, field, "an action is a mapping (operation, params, body)")
		return nil
	}
	fields := map[string]located{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		k, v := n.Content[j], n.Content[j+1]
		if !slices.Contains(actionFields, k.Value) {
			l.add(file, k, field+"."+k.Value, "unknown field (an action has name, operation, params, body; a built-in step builtin and its texts)")
			continue
		}
		fields[k.Value] = located{file: file, key: k, val: v}
	}
	a := &action{name: strconv.Itoa(index)}
	if loc, ok := fields["name"]; ok {
		if v, ok := l.scalar(loc, field+".name"); ok {
			if !validName.MatchString(v) {
				l.add(file, loc.val, field+".name", "%q is not a name: lower-case letters, digits and dashes", v)
			}
			a.name = v
		}
	}
	if loc, ok := fields["builtin"]; ok {
		l.step(fields, loc, field, r, a)
		return a
	}
	for _, k := range []string{"title", "tasks", "note"} {
		if loc, ok := fields[k]; ok {
			l.add(file, loc.key, field+"."+k, "only built-in steps have %s", k)
		}
	}
	loc, ok := fields["operation"]
	if !ok {
		l.add(file, n, field+".operation", "an action needs an operation (an operationId of `contactbridge sync catalog`)")
		return nil
	}
	id, ok := l.scalar(loc, field+".operation")
	if !ok {
		return nil
	}
	api, op, ok := l.cat.operation(id)
	if !ok {
		l.add(file, loc.val, field+".operation", "unknown operation %q (the actions are `contactbridge sync catalog`'s)%s", id,
			suggestion(id, l.cat.operationIDs()))
		return nil
	}
	a.api, a.op, a.method, a.path = api, op.ID, op.Method, op.Path
	l.params(fields, n, field, r, a)
	l.requestBody(fields, n, field, r, a)
	return a
}

// params reads an action's params against its operation's path and query
// parameters: every one it names exists, every required one is set.
func (l *loader) params(fields map[string]located, n *yaml.Node, field string, r *rule, a *action) {
	spec := l.cat.specs[a.api]
	op, _ := spec.Operation(a.op)
	declared := op.Spec.Parameters
	if item := spec.Doc.Paths.Value(a.path); item != nil {
		declared = append(slices.Clone(item.Parameters), declared...)
	}
	type decl struct {
		in       string
		required bool
		shape    *shape
	}
	known := map[string]decl{}
	var names []string
	for _, p := range declared {
		if p.Value == nil || (p.Value.In != "path" && p.Value.In != "query") {
			continue
		}
		var sh *shape = dynShape
		if p.Value.Schema != nil {
			sh = l.cat.types.of(p.Value.Schema.Value, a.api+"."+a.op+"."+p.Value.Name)
		}
		known[p.Value.Name] = decl{in: p.Value.In, required: p.Value.Required || p.Value.In == "path", shape: sh}
		names = append(names, p.Value.Name)
	}
	set := map[string]bool{}
	if loc, ok := fields["params"]; ok {
		if loc.val.Kind != yaml.MappingNode {
			l.add(loc.file, loc.val, field+".params", "expected a mapping of parameter names to values")
		} else {
			for j := 0; j+1 < len(loc.val.Content); j += 2 {
				k, v := loc.val.Content[j], loc.val.Content[j+1]
				pf := field + ".params." + k.Value
				d, ok := known[k.Value]
				if !ok {
					l.add(loc.file, k, pf, "%s has no parameter %q (it has %s)", a.op, k.Value, orNone(names))
					continue
				}
				values := []*yaml.Node{v}
				if v.Kind == yaml.SequenceNode && d.in == "query" {
					values = v.Content
				}
				p := param{name: k.Value, shape: d.shape}
				for _, vn := range values {
					if t := l.template(loc.file, vn, pf, r.on); t != nil {
						p.values = append(p.values, t)
					}
				}
				set[k.Value] = true
				if d.in == "path" {
					a.pathParams = append(a.pathParams, p)
				} else {
					a.query = append(a.query, p)
				}
			}
		}
	}
	for _, name := range names {
		if known[name].required && !set[name] {
			l.add(fields["operation"].file, n, field+".params."+name, "%s needs the %s parameter %s", a.op, known[name].in, name)
		}
	}
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// requestBody reads an action's body against its operation's request
// schema.
func (l *loader) requestBody(fields map[string]located, n *yaml.Node, field string, r *rule, a *action) {
	op, _ := l.cat.specs[a.api].Operation(a.op)
	rb := op.Spec.RequestBody
	loc, given := fields["body"]
	if rb == nil || rb.Value == nil {
		if given {
			l.add(loc.file, loc.key, field+".body", "%s takes no body", a.op)
		}
		return
	}
	media := rb.Value.Content.Get("application/json")
	if media == nil || media.Schema == nil {
		if given {
			l.add(loc.file, loc.key, field+".body", "%s takes no JSON body", a.op)
		}
		return
	}
	sh := l.cat.types.of(media.Schema.Value, a.api+"."+a.op+".body")
	if !given {
		if rb.Value.Required {
			l.add(fields["operation"].file, n, field+".body", "%s needs a body (%s)", a.op, requiredText(sh))
		}
		return
	}
	a.body = l.bodyNode(loc.file, loc.val, field+".body", sh, r)
}

func requiredText(sh *shape) string {
	if sh.kind != kindObject || len(sh.required) == 0 {
		return "a JSON body"
	}
	return "required: " + strings.Join(sh.required, ", ")
}

// bodyNode reads a body value, checking it against its schema's shape.
func (l *loader) bodyNode(file string, n *yaml.Node, field string, sh *shape, r *rule) *body {
	b := &body{shape: sh}
	switch n.Kind {
	case yaml.MappingNode:
		if sh.kind != kindObject && sh.kind != kindMap && sh.kind != kindDyn {
			l.add(file, n, field, "expected %s, not an object", kindText(sh))
			return b
		}
		b.fields = map[string]*body{}
		for j := 0; j+1 < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			f, ok := sh.field(k.Value)
			if !ok {
				if sh.closed {
					l.add(file, k, field+"."+k.Value, "unknown field %s of %s (it has %s)", k.Value, sh.name, strings.Join(sh.fieldNames(), ", "))
					continue
				}
				f = dynShape
			}
			if _, dup := b.fields[k.Value]; dup {
				l.add(file, k, field+"."+k.Value, "set twice")
				continue
			}
			b.keys = append(b.keys, k.Value)
			b.fields[k.Value] = l.bodyNode(file, v, field+"."+k.Value, f, r)
		}
		for _, req := range sh.required {
			if _, ok := b.fields[req]; !ok {
				l.add(file, n, field+"."+req, "required field %s is not set", req)
			}
		}
	case yaml.SequenceNode:
		if sh.kind != kindList && sh.kind != kindDyn {
			l.add(file, n, field, "expected %s, not a list", kindText(sh))
			return b
		}
		b.items = []*body{}
		elem := dynShape
		if sh.kind == kindList {
			elem = sh.elem
		}
		for i, c := range n.Content {
			b.items = append(b.items, l.bodyNode(file, c, fmt.Sprintf("%s[%d]", field, i), elem, r))
		}
	case yaml.ScalarNode:
		if n.Tag == "!!str" {
			b.str = l.template(file, n, field, r.on)
			return b
		}
		if err := n.Decode(&b.lit); err != nil {
			l.add(file, n, field, "%v", err)
		}
	default:
		l.add(file, n, field, "YAML aliases are not supported in rule files")
	}
	return b
}

func kindText(sh *shape) string {
	switch sh.kind {
	case kindObject, kindMap:
		return "an object"
	case kindList:
		return "a list"
	case kindString:
		return "a string"
	}
	return "a " + kindNames[sh.kind]
}

// value renders the body on vars.
func (b *body) value(vars map[string]any) (any, error) {
	switch {
	case b.fields != nil:
		out := make(map[string]any, len(b.fields))
		for _, k := range b.keys {
			v, err := b.fields[k].value(vars)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = v
		}
		return out, nil
	case b.items != nil:
		out := make([]any, len(b.items))
		for i, it := range b.items {
			v, err := it.value(vars)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = v
		}
		return out, nil
	case b.str != nil:
		return b.str.render(vars, b.shape)
	}
	return b.lit, nil
}
