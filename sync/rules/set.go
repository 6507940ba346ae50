package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/contactbridge/contactbridge/sync/engine"
)

// ErrPlan is what an error of Plan is (errors.Is): an action whose
// condition or template could not be evaluated on the change.
var ErrPlan = errors.New("rules: an action could not be planned")

// rule is a compiled rule.
type rule struct {
	name, file string
	line       int
	enabled    bool
	on         []string
	cond       *condition
	once       string
	actions    []*action
	builtin    *builtinRule
}

// Set is a loaded, checked set of rules: the default ones (which the
// engine runs as its flows) and the user's (which Plan plans). It is
// safe for concurrent use.
type Set struct {
	cat       *Catalog
	rules     []*rule
	byTrigger map[string][]*rule // enabled user rules
	flows     engine.Flows
}

var _ engine.Rules = (*Set)(nil)

// Flows are the engine's flows the default rules describe: each on or off
// as its rule is enabled, with its steps' texts (in the engine's {contact}
// form), over the config's flows given to Load.
func (s *Set) Flows() (engine.Flows, error) { return s.flows, nil }

// RuleInfo describes a rule of a set.
type RuleInfo struct {
	Name string
	// File and Line are where it is defined (DefaultFile for a default
	// rule, even one a rule file changed).
	File string
	Line int
	// Default tells a default rule, Enabled whether it runs.
	Default, Enabled bool
	On               []string
	Once             string
	// Actions are its actions' names (a default rule's: its steps).
	Actions []string
}

// Rules describes the set's rules, default ones first.
func (s *Set) Rules() []RuleInfo {
	out := make([]RuleInfo, len(s.rules))
	for i, r := range s.rules {
		info := RuleInfo{Name: r.name, File: r.file, Line: r.line, Default: r.builtin != nil, Enabled: r.enabled,
			On: slices.Clone(r.on), Once: r.once}
		for _, a := range r.actions {
			name := a.name
			if a.step != "" {
				name = a.step
			}
			info.Actions = append(info.Actions, name)
		}
		out[i] = info
	}
	return out
}

// Summary counts a set's rules, their triggers and actions.
type Summary struct {
	// Rules and Enabled count every rule and those enabled; Default the
	// default ones among them.
	Rules, Enabled, Default int
	// Triggers are the distinct triggers of the enabled rules; Actions
	// their actions (built-in steps included).
	Triggers, Actions int
}

// Summary counts the set.
func (s *Set) Summary() Summary {
	var sum Summary
	triggers := map[string]bool{}
	for _, r := range s.rules {
		sum.Rules++
		if r.builtin != nil {
			sum.Default++
		}
		if !r.enabled {
			continue
		}
		sum.Enabled++
		sum.Actions += len(r.actions)
		for _, t := range r.on {
			triggers[t] = true
		}
	}
	sum.Triggers = len(triggers)
	return sum
}

// Result is what one rule makes of a change, as `rules test` shows it.
type Result struct {
	Rule string
	// Default tells a default rule (the engine runs its steps; they are
	// not planned here).
	Default bool
	// Matched tells whether the rule acts on the change; Reason says why
	// not (disabled, another trigger, the condition is false).
	Matched bool
	Reason  string
	// Condition is the rule's condition ("" for none); Evaluated tells
	// whether it was evaluated on the change (the rule is on and has its
	// trigger) and Value is its value then (true for no condition).
	Condition string
	Evaluated bool
	Value     bool
	// Actions are the requests of a matched user rule.
	Actions []engine.RuleAction
	// Err is why the condition or an action could not be evaluated.
	Err error
}

// Plan implements engine.Rules: the actions of every enabled user rule
// whose trigger is in.Trigger and whose condition holds. An action whose
// template fails (a field the record lacks) is left out and named in the
// error, which is ErrPlan; the other actions are returned with it.
func (s *Set) Plan(in engine.RuleInput) ([]engine.RuleAction, error) {
	rules := s.byTrigger[in.Trigger]
	if len(rules) == 0 {
		return nil, nil
	}
	ch := newChange(in)
	var (
		out  []engine.RuleAction
		errs []error
	)
	for _, r := range rules {
		actions, err := s.plan(r, in, ch)
		out = append(out, actions...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%w: %w", ErrPlan, errors.Join(errs...))
	}
	return out, nil
}

// plan is one rule's actions on a change.
func (s *Set) plan(r *rule, in engine.RuleInput, ch *change) ([]engine.RuleAction, error) {
	ok, err := r.cond.eval(in.Trigger, ch.vars)
	if err != nil || !ok {
		if err != nil {
			err = fmt.Errorf("rule %s: %w", r.name, err)
		}
		return nil, err
	}
	var (
		out  []engine.RuleAction
		errs []error
	)
	for _, a := range r.actions {
		ra, err := a.request(ch.templateData())
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s, action %s: %w", r.name, a.name, err))
			continue
		}
		ra.Rule, ra.Action = r.name, a.name
		ra.Key = "rule:" + r.name + ":" + a.name + ":" + in.ID
		if r.once == OncePerChange {
			ra.Key += ":" + in.Version
		}
		out = append(out, ra)
	}
	return out, errors.Join(errs...)
}

// Explain is what every rule makes of a change: matched or not and why,
// the condition's value, the requests. It sends nothing.
func (s *Set) Explain(in engine.RuleInput) []Result {
	ch := newChange(in)
	out := make([]Result, 0, len(s.rules))
	for _, r := range s.rules {
		res := Result{Rule: r.name, Default: r.builtin != nil}
		if r.cond != nil {
			res.Condition = r.cond.text
		}
		triggered := false
		for _, t := range r.on {
			triggered = triggered || t == in.Trigger
		}
		switch {
		case !r.enabled:
			res.Reason = "disabled"
		case !triggered:
			res.Reason = "its triggers are " + strings.Join(r.on, ", ") + ", not " + in.Trigger
		case r.builtin != nil:
			res.Matched, res.Reason = true, "a default rule: the engine runs its steps ("+stepList(r)+")"
		default:
			var err error
			res.Evaluated = true
			if res.Value, err = r.cond.eval(in.Trigger, ch.vars); err != nil {
				res.Err, res.Reason = err, "its condition failed"
				break
			}
			if !res.Value {
				res.Reason = "its condition is false"
				break
			}
			res.Matched = true
			res.Actions, res.Err = s.plan(r, in, ch)
		}
		out = append(out, res)
	}
	return out
}

func stepList(r *rule) string {
	steps := make([]string, len(r.actions))
	for i, a := range r.actions {
		steps[i] = a.step
	}
	return strings.Join(steps, ", ")
}

// change is a change as the rules see it: the variables of conditions and
// those of templates, made once for all rules when one needs them.
type change struct {
	vars, data map[string]any
}

func newChange(in engine.RuleInput) *change { return &change{vars: variables(in)} }

// templateData is vars with JSON's integral numbers made integers, so a
// template prints an id as 1000000, not 1e+06.
func (ch *change) templateData() map[string]any {
	if ch.data == nil {
		data, _ := integral(ch.vars)
		ch.data = data.(map[string]any)
	}
	return ch.data
}

// variables are the change as conditions see it.
func variables(in engine.RuleInput) map[string]any {
	or := func(m map[string]any) map[string]any {
		if m == nil {
			return map[string]any{}
		}
		return m
	}
	hl, m := or(in.Contact), or(in.MappedContact)
	if strings.HasPrefix(in.Trigger, APIM360+".") {
		hl, m = m, hl
	}
	return map[string]any{
		varTrigger:   in.Trigger,
		varEntity:    or(in.Record),
		varMapped:    or(in.Mapped),
		varContact:   or(in.Contact),
		varM360:      map[string]any{varContact: m},
		varHighLevel: map[string]any{varContact: hl},
	}
}

// integral is v with its integral float64s made int64s, copying only the
// maps and lists that hold one (records are shared with the caller);
// changed tells whether it made anything.
func integral(v any) (out any, changed bool) {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) && x < 1<<53 && x > -(1<<53) {
			return int64(x), true
		}
	case map[string]any:
		var m map[string]any
		for k, e := range x {
			if n, ok := integral(e); ok {
				if m == nil {
					m = maps.Clone(x)
				}
				m[k] = n
			}
		}
		if m != nil {
			return m, true
		}
	case []any:
		var l []any
		for i, e := range x {
			if n, ok := integral(e); ok {
				if l == nil {
					l = slices.Clone(x)
				}
				l[i] = n
			}
		}
		if l != nil {
			return l, true
		}
	}
	return v, false
}

// request renders an action's request.
func (a *action) request(data map[string]any) (engine.RuleAction, error) {
	ra := engine.RuleAction{API: a.api, Operation: a.op, Method: a.method}
	path := a.path
	for _, p := range a.pathParams {
		v, err := p.values[0].render(data, p.shape)
		if err != nil {
			return ra, fmt.Errorf("params.%s: %w", p.name, err)
		}
		s := fmt.Sprint(v)
		if s == "" {
			return ra, fmt.Errorf("params.%s: the path parameter is empty", p.name)
		}
		path = strings.ReplaceAll(path, "{"+p.name+"}", url.PathEscape(s))
	}
	ra.Path = path
	for _, p := range a.query {
		if ra.Query == nil {
			ra.Query = url.Values{}
		}
		for _, t := range p.values {
			v, err := t.render(data, p.shape)
			if err != nil {
				return ra, fmt.Errorf("params.%s: %w", p.name, err)
			}
			ra.Query.Add(p.name, fmt.Sprint(v))
		}
	}
	if a.body != nil {
		v, err := a.body.value(data)
		if err != nil {
			return ra, fmt.Errorf("body: %w", err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return ra, fmt.Errorf("body: %w", err)
		}
		ra.Body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	return ra, nil
}
