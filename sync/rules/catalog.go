package rules

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/common/types"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/contactbridge/contactbridge/openapi"
	"github.com/contactbridge/contactbridge/sync/engine"
)

// APIs, as triggers and actions name them.
const (
	APIHighLevel = "highlevel"
	APIM360      = "m360"
)

// Catalog is what rules are checked against: the triggers (the webhook
// events of both specs, as `sync catalog` lists them) with the schema of the
// entity each is about, and the operations of both specs.
type Catalog struct {
	specs    map[string]*openapi.Spec // by API
	triggers map[string]trigger       // "highlevel.ContactCreate"
	types    *schemaTypes
	roots    map[string]*shape // the variables of each trigger
	registry *types.Registry
	envs     envs
}

// trigger is a trigger's entity: its kind (engine.EntityContact, ...) and
// schema, the schema of its counterpart on the other side, and the schema of
// the contacts on both sides.
type trigger struct {
	api, kind string
	entity    *openapi3.Schema
	mapped    *openapi3.Schema
}

// entityKinds tells, by the first word of an event's name, which entity it
// is about and the component schemas of the entity on its own API and on the
// other one. HighLevel names events ContactCreate, Marketing 360
// contact.created.
var entityKinds = map[string]struct{ kind, highlevel, m360 string }{
	"contact":     {engine.EntityContact, "Contact", "Contact"},
	"task":        {engine.EntityTask, "Task", "Task"},
	"note":        {engine.EntityNote, "Note", "Note"},
	"appointment": {engine.EntityAppointment, "CalendarEventDTO", "Event"},
	"event":       {engine.EntityEvent, "CalendarEventDTO", "Event"},
}

// DefaultCatalog is the Catalog of the embedded specs (the ones the twins
// serve and `sync catalog` lists), loaded once for the process.
func DefaultCatalog() (*Catalog, error) { return defaultCatalog() }

var defaultCatalog = sync.OnceValues(func() (*Catalog, error) {
	ctx := context.Background()
	hl, err := openapi.LoadHighLevel(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	m, err := openapi.LoadMarketing360(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return NewCatalog(hl, m)
})

// NewCatalog makes the Catalog of the two specs.
func NewCatalog(highlevel, m360 *openapi.Spec) (*Catalog, error) {
	registry, err := types.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	c := &Catalog{specs: map[string]*openapi.Spec{APIHighLevel: highlevel, APIM360: m360},
		triggers: map[string]trigger{}, types: newSchemaTypes(), roots: map[string]*shape{}, registry: registry}
	for _, api := range []string{APIHighLevel, APIM360} {
		comps := c.specs[api].Doc.Components.Schemas
		for _, name := range slices.Sorted(maps.Keys(comps)) {
			c.types.of(comps[name].Value, api+"."+name)
		}
	}
	schema := func(api, name string) (*openapi3.Schema, error) {
		ref, ok := c.specs[api].Doc.Components.Schemas[name]
		if !ok || ref.Value == nil {
			return nil, fmt.Errorf("rules: %s has no schema %s", c.specs[api].File, name)
		}
		return ref.Value, nil
	}
	for _, api := range []string{APIHighLevel, APIM360} {
		for _, w := range c.specs[api].Webhooks() {
			word := strings.ToLower(w.Name)
			if api == APIHighLevel {
				word = strings.ToLower(firstWord(w.Name))
			} else if i := strings.IndexByte(w.Name, '.'); i > 0 {
				word = w.Name[:i]
			}
			k, ok := entityKinds[word]
			if !ok {
				continue // AppUninstall: no entity to act on
			}
			own, other, otherAPI := k.highlevel, k.m360, APIM360
			if api == APIM360 {
				own, other, otherAPI = k.m360, k.highlevel, APIHighLevel
			}
			t := trigger{api: api, kind: k.kind}
			if t.entity, err = schema(api, own); err != nil {
				return nil, err
			}
			if t.mapped, err = schema(otherAPI, other); err != nil {
				return nil, err
			}
			c.triggers[api+"."+w.Name] = t
		}
	}
	for _, api := range []string{APIHighLevel, APIM360} {
		s, err := schema(api, "Contact")
		if err != nil {
			return nil, err
		}
		c.types.contact[api] = s
	}
	for name, t := range c.triggers {
		c.roots[name] = c.rootShape(t)
	}
	return c, nil
}

// Variables of conditions and templates.
const (
	varTrigger   = "trigger"
	varEntity    = "entity"
	varContact   = "contact"
	varMapped    = "mapped"
	varM360      = APIM360
	varHighLevel = APIHighLevel
)

// rootShape is the shape of a trigger's variables: trigger, entity, mapped
// (the entity's counterpart), contact (the contact of the trigger's API the
// entity is or belongs to), m360.contact and highlevel.contact (the contact
// on each side, whichever the trigger's).
func (c *Catalog) rootShape(t trigger) *shape {
	hl, m := c.types.of(c.types.contact[APIHighLevel], ""), c.types.of(c.types.contact[APIM360], "")
	side := func(name string, contact *shape) *shape {
		sh := &shape{kind: kindObject, name: name, props: map[string]*shape{varContact: contact}}
		c.types.objects[name] = sh
		return sh
	}
	own := hl
	if t.api == APIM360 {
		own = m
	}
	return &shape{kind: kindObject, props: map[string]*shape{
		varTrigger:   {kind: kindString},
		varEntity:    c.types.of(t.entity, ""),
		varMapped:    c.types.of(t.mapped, ""),
		varContact:   own,
		varM360:      side("rules.M360", m),
		varHighLevel: side("rules.HighLevel", hl),
	}}
}

// vars is the shape of a trigger's variables.
func (c *Catalog) vars(trigger string) *shape { return c.roots[trigger] }

// firstWord is the first word of a CamelCase name: "Contact" of
// "ContactTagUpdate".
func firstWord(s string) string {
	for i := 1; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return s[:i]
		}
	}
	return s
}

// Triggers lists the triggers rules can name, sorted.
func (c *Catalog) Triggers() []string {
	out := make([]string, 0, len(c.triggers))
	for t := range c.triggers {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// operation finds an operationId in either spec.
func (c *Catalog) operation(id string) (api string, op *openapi.Operation, ok bool) {
	for _, api := range []string{APIHighLevel, APIM360} {
		if op, ok := c.specs[api].Operation(id); ok {
			return api, op, true
		}
	}
	return "", nil, false
}
