package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/contactbridge/contactbridge/internal/jsonvalue"
	"github.com/contactbridge/contactbridge/mock/fastcheck"
	"github.com/contactbridge/contactbridge/mock/store"
	"github.com/contactbridge/contactbridge/mock/webhooks"
	"github.com/contactbridge/contactbridge/openapi"
)

// importWrites names, for each table of a state, the operation whose
// request makes such a record: an imported record is checked against that
// request's schema, as the API would check the write.
var importWrites = map[string]struct {
	m360 bool
	op   string
}{
	"contacts":     {false, "create-contact"},
	"tasks":        {false, "create-task"},
	"notes":        {false, "create-note"},
	"appointments": {false, "create-appointment"},
	"m360Contacts": {true, "m360-create-contact"},
	"m360Tasks":    {true, "m360-create-task"},
	"m360Notes":    {true, "m360-create-note"},
	"m360Events":   {true, "m360-create-event"},
}

// recordCheck is the check of each record of an imported state against the
// spec: each of its fields that the write's schema declares with the type
// the field has in the state is checked against that schema (its length,
// enum, pattern, range). The state's own shape differs from the APIs' in
// places (a Marketing 360 task's assignee is a username, where the write
// takes {username}); those fields are left to the store's typed decoding.
// A webhook subscription (webhooks, m360Webhooks) is checked as the APIs
// check one: its URL must not point at the twin (self).
func recordCheck(hl, m *openapi.Spec, self *webhooks.Self) (store.RecordCheck, error) {
	fields, err := importFields(hl, m)
	if err != nil {
		return nil, err
	}
	return func(table string, raw json.RawMessage) error {
		if table == "webhooks" || table == "m360Webhooks" {
			var w struct {
				URL string `json:"url"`
			}
			if err := json.Unmarshal(raw, &w); err != nil {
				return fmt.Errorf("not a JSON object: %w", err)
			}
			if err := self.Check(w.URL); err != nil {
				return &store.InvalidError{Field: "url", Reason: err.Error()}
			}
			return nil
		}
		checks := fields[table]
		if checks == nil {
			return nil
		}
		return checks.check(raw)
	}, nil
}

// importFields are the checks of the fields each table's write declares,
// by table, each built once.
func importFields(hl, m *openapi.Spec) (map[string]*tableCheck, error) {
	tables := map[string]*tableCheck{}
	for table, w := range importWrites {
		spec := hl
		if w.m360 {
			spec = m
		}
		op, ok := spec.Operation(w.op)
		if !ok || op.Spec.RequestBody == nil || op.Spec.RequestBody.Value.Content.Get("application/json") == nil {
			return nil, fmt.Errorf("mock: import check: %s has no operation %s with a JSON body", spec.File, w.op)
		}
		schemas := map[string]*openapi3.Schema{}
		properties(op.Spec.RequestBody.Value.Content.Get("application/json").Schema.Value, schemas)
		if len(schemas) > maxDeclared {
			return nil, fmt.Errorf("mock: import check: %s declares %d fields, more than %d", w.op, len(schemas), maxDeclared)
		}
		zeros := storedZeros(table)
		t := &tableCheck{index: map[string]int{}}
		for _, name := range slices.Sorted(maps.Keys(schemas)) {
			t.index[name] = len(t.fields)
			c := fieldCheck{name: name, schema: schemas[name], valid: fastcheck.Compile(schemas[name])}
			if z, ok := zeros[name]; ok && typed(c.schema, z) {
				c.zero = z
			}
			c.text = c.valid != nil && c.schema.Type.Is(openapi3.TypeString)
			if c.valid == nil {
				c.accepted = &acceptedTexts{texts: map[string]struct{}{}}
			}
			t.fields = append(t.fields, c)
		}
		tables[table] = t
	}
	return tables, nil
}

// storedZeros are, by JSON name, the fields of a table's records that the
// state always writes (no omitempty) and that hold a string, a bool or a
// number, each with the zero value a record without it is stored with.
func storedZeros(table string) map[string]any {
	state := reflect.TypeFor[store.State]()
	for i := range state.NumField() {
		f := state.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != table || f.Type.Kind() != reflect.Slice {
			continue
		}
		zeros := map[string]any{}
		addZeros(f.Type.Elem(), zeros)
		return zeros
	}
	return nil
}

// addZeros adds the always-written scalar fields of the struct type t (and
// of the structs it embeds) to zeros.
func addZeros(t reflect.Type, zeros map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			addZeros(f.Type, zeros)
			continue
		case !f.IsExported() || name == "-" || slices.Contains(strings.Split(opts, ","), "omitempty"):
			continue
		case name == "":
			name = f.Name
		}
		switch f.Type.Kind() {
		case reflect.String:
			zeros[name] = ""
		case reflect.Bool:
			zeros[name] = false
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
			zeros[name] = float64(0)
		}
	}
}

// tableCheck is the check of a table's records: the fields its write
// declares, in name order (a record's first problem is that of the first
// by name), and where each is in fields.
type tableCheck struct {
	fields []fieldCheck
	index  map[string]int
}

// maxDeclared bounds the fields a write declares (a record's problems are
// kept in a bit set).
const maxDeclared = 64

// fieldCheck is the check of a field a write's schema declares: kin-openapi's
// VisitJSON of its schema, and before it, for the schemas whose every
// constraint fastcheck.Compile knows, valid, which says true only of a value
// VisitJSON accepts, at a fraction of its cost (VisitJSON allocates its
// settings, walks the schema and tests it for emptiness with a map on every
// call: most of an import's CPU). A false leaves the verdict and its
// wording to VisitJSON.
type fieldCheck struct {
	name   string
	schema *openapi3.Schema
	valid  func(v any) bool // nil: VisitJSON alone, and accepted
	// text: a string schema whose valid is validString, which a plain
	// ASCII string is judged by from its JSON text, without a copy.
	text bool
	// accepted are the texts of values VisitJSON accepted, for a field
	// without valid (objects, arrays of objects: a contact's custom fields
	// repeat across a data set): the same text decodes to the same value,
	// which VisitJSON judges the same.
	accepted *acceptedTexts
	// zero, when not nil, is what the store holds, and exports, for the
	// field when a record leaves it out or gives it as null ("", false or
	// 0): a field the state always writes (storedZeros). It is judged as
	// that value, so that what an import accepts is what its export shows.
	zero any
}

// judge is the verdict on v, a value of the field: valid's when it says
// yes, else VisitJSON's.
func (c *fieldCheck) judge(v any) *store.InvalidError {
	if c.valid != nil && c.valid(v) {
		return nil
	}
	return c.visit(v)
}

// visit is VisitJSON's verdict on v, as the problem it makes.
func (c *fieldCheck) visit(v any) *store.InvalidError {
	err := c.schema.VisitJSON(v)
	if err == nil {
		return nil
	}
	reason := err.Error()
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		reason = se.Reason
	}
	return &store.InvalidError{Field: c.name, Reason: reason}
}

// checkValue reads the field's value from dec and judges it: its problem,
// or an error when it is not JSON.
func (c *fieldCheck) checkValue(dec *jsontext.Decoder) (*store.InvalidError, error) {
	if c.text && dec.PeekKind() == '"' {
		raw, err := dec.ReadValue() // dec's, until its next read
		if err != nil {
			return nil, err
		}
		if text := raw[1 : len(raw)-1]; plainASCII(text) {
			if fastcheck.String(c.schema, text) {
				return nil, nil
			}
			return c.visit(string(text)), nil
		}
		// The decoder checked the syntax; AppendUnquote's only error left
		// is invalid UTF-8, which it has replaced with U+FFFD as the store's
		// decoding (and the check before this one) does: not a refusal.
		v, _ := jsontext.AppendUnquote(nil, raw)
		if fastcheck.String(c.schema, v) {
			return nil, nil
		}
		return c.visit(string(v)), nil
	}
	if c.valid != nil {
		v, err := jsonvalue.Read(dec, nil, jsonvalue.Float64)
		if err != nil || !typed(c.schema, v) || c.valid(v) {
			return nil, err
		}
		return c.visit(v), nil
	}
	raw, err := dec.ReadValue() // dec's, until its next read
	if err != nil || c.accepted.has(raw) {
		return nil, err
	}
	var v any
	if err := jsonv2.Unmarshal(raw, &v, jsonvalue.Lenient...); err != nil {
		return nil, err
	}
	if !typed(c.schema, v) {
		return nil, nil
	}
	if problem := c.visit(v); problem != nil {
		return problem, nil
	}
	c.accepted.add(raw)
	return nil, nil
}

// acceptedTexts is a set of JSON texts, bounded (texts longer than
// maxAcceptedText are not added, nor any past maxAccepted) and safe for
// concurrent use (imports may run side by side).
type acceptedTexts struct {
	mu    sync.RWMutex
	texts map[string]struct{}
}

const (
	maxAccepted     = 4096
	maxAcceptedText = 512
)

func (a *acceptedTexts) has(raw []byte) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	_, ok := a.texts[string(raw)]
	return ok
}

func (a *acceptedTexts) add(raw []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.texts) < maxAccepted && len(raw) <= maxAcceptedText {
		a.texts[string(raw)] = struct{}{}
	}
}

// check checks the members of the object raw that t declares, without
// decoding the others, so that a record's check costs what its declared
// fields do. A key given twice is judged by its last value; the problem
// told is that of the first field by name.
func (t *tableCheck) check(raw []byte) error {
	dec, release := jsonvalue.Decoder(raw)
	defer release()
	var problems [maxDeclared]*store.InvalidError
	var failed, seen uint64
	note := func(i int, problem *store.InvalidError) {
		problems[i] = problem
		seen |= 1 << i
		if problem != nil {
			failed |= 1 << i
		} else {
			failed &^= 1 << i
		}
	}
	err := func() error {
		if tok, err := dec.ReadToken(); err != nil {
			return err
		} else if tok.Kind() != '{' {
			return fmt.Errorf("got %v", tok)
		}
		for dec.PeekKind() != '}' {
			quoted, err := dec.ReadValue()
			if err != nil {
				return err
			}
			key := jsonvalue.RawName(quoted)
			i, ok := t.index[string(key)]
			if !ok {
				if err := dec.SkipValue(); err != nil {
					return err
				}
				continue
			}
			c := &t.fields[i]
			if c.zero != nil && dec.PeekKind() == 'n' {
				if err := dec.SkipValue(); err != nil {
					return err
				}
				note(i, c.judge(c.zero))
				continue
			}
			problem, err := c.checkValue(dec)
			if err != nil {
				return err
			}
			note(i, problem)
		}
		return nil
	}()
	if err != nil {
		return fmt.Errorf("not a JSON object: %w", err)
	}
	for i := range t.fields {
		if c := &t.fields[i]; c.zero != nil && seen&(1<<i) == 0 {
			note(i, c.judge(c.zero))
		}
	}
	if failed == 0 {
		return nil
	}
	return problems[bits.TrailingZeros64(failed)]
}

// plainASCII tells whether a JSON string's text is printable ASCII
// without escapes: the string itself.
func plainASCII(text []byte) bool {
	for _, c := range text {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// properties adds the properties s declares, itself and through allOf, to into.
func properties(s *openapi3.Schema, into map[string]*openapi3.Schema) {
	for name, p := range s.Properties {
		into[name] = p.Value
	}
	for _, part := range s.AllOf {
		properties(part.Value, into)
	}
}

// typed tells whether s declares the JSON type of v (as json.Unmarshal
// decodes into any); a schema without a type declares none.
func typed(s *openapi3.Schema, v any) bool {
	switch v := v.(type) {
	case string:
		return s.Type.Is(openapi3.TypeString)
	case float64:
		return s.Type.Is(openapi3.TypeNumber) || (s.Type.Is(openapi3.TypeInteger) && v == float64(int64(v)))
	case bool:
		return s.Type.Is(openapi3.TypeBoolean)
	case []any:
		return s.Type.Is(openapi3.TypeArray)
	case map[string]any:
		return s.Type.Is(openapi3.TypeObject)
	}
	return false
}
