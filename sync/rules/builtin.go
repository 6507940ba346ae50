package rules

import (
	"reflect"
	"slices"
	"strings"
	"text/template/parse"

	"gopkg.in/yaml.v3"

	"github.com/contactbridge/contactbridge/sync/engine"
)

// Built-in steps: the engine's flows (sync/engine/flows.go), which the
// default rules are made of.
const (
	stepMirrorContact     = "mirror-contact"
	stepFollowUpTask      = "follow-up-task"
	stepOnboarding        = "onboarding"
	stepMirrorM360Task    = "mirror-m360-task"
	stepMirrorNote        = "mirror-note"
	stepMirrorAppointment = "mirror-appointment"
	stepMirrorTask        = "mirror-task"
	stepCampaignRules     = "campaign-rules"
)

// builtinRule is a default rule the engine runs itself: its steps, in
// order, and the flow it switches.
type builtinRule struct {
	steps []string
	flow  func(f *engine.Flows) *bool
}

var builtins = map[string]*builtinRule{
	"contacts":     {[]string{stepMirrorContact, stepFollowUpTask}, func(f *engine.Flows) *bool { return &f.Contacts }},
	"onboarding":   {[]string{stepOnboarding}, func(f *engine.Flows) *bool { return &f.Onboarding }},
	"m360-tasks":   {[]string{stepMirrorM360Task}, func(f *engine.Flows) *bool { return &f.M360Tasks }},
	"notes":        {[]string{stepMirrorNote}, func(f *engine.Flows) *bool { return &f.Notes }},
	"appointments": {[]string{stepMirrorAppointment}, func(f *engine.Flows) *bool { return &f.Appointments }},
	"tasks":        {[]string{stepMirrorTask}, func(f *engine.Flows) *bool { return &f.Tasks }},
	"campaigns":    {[]string{stepCampaignRules}, func(f *engine.Flows) *bool { return &f.Campaigns }},
}

// stepTexts are the texts each step takes.
var stepTexts = map[string][]string{stepFollowUpTask: {"title"}, stepOnboarding: {"tasks", "note"}}

// step reads a built-in step.
func (l *loader) step(fields map[string]located, loc located, field string, r *rule, a *action) {
	name, ok := l.scalar(loc, field+".builtin")
	if !ok {
		return
	}
	a.step = name
	if r.builtin == nil {
		l.add(loc.file, loc.val, field+".builtin", "built-in steps belong to the default rules (%s); a rule of yours has operations", strings.Join(builtinNames(), ", "))
		return
	}
	if !slices.Contains(r.builtin.steps, name) {
		l.add(loc.file, loc.val, field+".builtin", "rule %s has the steps %s, not %q", r.name, strings.Join(r.builtin.steps, ", "), name)
		return
	}
	for _, k := range []string{"operation", "params", "body"} {
		if f, ok := fields[k]; ok {
			l.add(f.file, f.key, field+"."+k, "a built-in step has no %s", k)
		}
	}
	for _, k := range []string{"title", "tasks", "note"} {
		f, ok := fields[k]
		if !ok {
			continue
		}
		if !slices.Contains(stepTexts[name], k) {
			l.add(f.file, f.key, field+"."+k, "step %s has no %s", name, k)
			continue
		}
		switch k {
		case "title":
			a.title = l.stepText(f.file, f.val, field+".title")
		case "note":
			a.note = l.stepText(f.file, f.val, field+".note")
		case "tasks":
			if f.val.Kind != yaml.SequenceNode {
				l.add(f.file, f.val, field+".tasks", "expected a list of task titles")
				continue
			}
			a.tasks = []string{}
			for i, tn := range f.val.Content {
				if t := l.stepText(f.file, tn, field+".tasks"); t != "" {
					a.tasks = append(a.tasks, t)
				} else {
					l.add(f.file, tn, field+".tasks", "task %d has no title", i+1)
				}
			}
		}
	}
}

func builtinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// stepText reads a built-in step's text: a template over the contact
// whose only field is {{ .contact.name }} (the contact's name as the sync
// forms it: first and last name, else its name, else its email), made the
// engine's {contact}.
func (l *loader) stepText(file string, n *yaml.Node, field string) string {
	t := l.template(file, n, field, []string{"highlevel.ContactCreate"})
	if t == nil {
		return ""
	}
	if t.t == nil {
		return strings.TrimSpace(t.text)
	}
	var b strings.Builder
	for _, node := range t.t.Tree.Root.Nodes {
		switch node := node.(type) {
		case *parse.TextNode:
			b.Write(node.Text)
		case *parse.ActionNode:
			if t.chain == nil && !isContactName(node) {
				l.add(file, n, field, "a built-in step's text can use {{ .contact.name }} only")
				return ""
			}
			b.WriteString("{contact}")
		default:
			l.add(file, n, field, "a built-in step's text can use {{ .contact.name }} only")
			return ""
		}
	}
	return strings.TrimSpace(b.String())
}

func isContactName(a *parse.ActionNode) bool {
	if len(a.Pipe.Decl) > 0 || len(a.Pipe.Cmds) != 1 || len(a.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	f, ok := a.Pipe.Cmds[0].Args[0].(*parse.FieldNode)
	return ok && slices.Equal(f.Ident, []string{varContact, "name"})
}

// checkBuiltin checks a default rule as a rule file may have changed it:
// its triggers, once and steps are the engine's; its condition is none.
func (l *loader) checkBuiltin(raw *rawRule, r *rule) {
	if r.builtin == nil {
		return
	}
	for _, k := range []string{"on", "once"} {
		if f := raw.fields[k]; !f.builtin && f.val != nil && !sameValue(f.val, raw.defaults[k].val) {
			l.add(f.file, f.key, raw.field+"."+k, "the %s of a default rule is the engine's: change enabled or its steps' texts", k)
		}
	}
	if f, ok := raw.fields["if"]; ok {
		l.add(f.file, f.key, raw.field+".if", "a default rule has no condition: write a rule of your own")
	}
	var steps []string
	for _, a := range r.actions {
		steps = append(steps, a.step)
	}
	if f := raw.fields["do"]; f.val != nil && len(r.actions) == len(f.val.Content) && !slices.Equal(steps, r.builtin.steps) {
		l.add(f.file, f.val, raw.field+".do", "rule %s has the steps %s, in that order", r.name, strings.Join(r.builtin.steps, ", "))
	}
}

// builtinFlows sets the flow of a default rule as a rule file changed it:
// on or off, and its texts; what the file does not set stays as the
// config's flows have it.
func builtinFlows(f *engine.Flows, raw *rawRule, r *rule) {
	if e := raw.fields["enabled"]; !e.builtin && e.val != nil {
		*r.builtin.flow(f) = r.enabled
	}
	if raw.fields["do"].builtin {
		return
	}
	for _, a := range r.actions {
		switch a.step {
		case stepFollowUpTask:
			if a.title != "" {
				f.FollowUp = a.title
			}
		case stepOnboarding:
			if a.tasks != nil {
				f.OnboardingTasks = a.tasks
			}
			if a.note != "" {
				f.WelcomeNote = a.note
			}
		}
	}
}

// sameValue tells whether two nodes hold the same value: a rule file may
// repeat a default rule's triggers.
func sameValue(a, b *yaml.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	var va, vb any
	if a.Decode(&va) != nil || b.Decode(&vb) != nil {
		return false
	}
	if s, ok := va.(string); ok {
		va = []any{s}
	}
	if s, ok := vb.(string); ok {
		vb = []any{s}
	}
	return reflect.DeepEqual(va, vb)
}
