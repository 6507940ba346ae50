package rules

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
)

// Bounds of a condition: its length, its nesting, and the cost of one
// evaluation (CEL's cost units: about one per operation and per element a
// comprehension visits).
const (
	maxConditionBytes = 4 << 10
	maxConditionDepth = 32
	maxConditionCost  = 100_000
)

// provider declares the objects of the specs as CEL types: a field of an
// object is typed by its schema, a field the schema does not have is a
// type error. At evaluation, objects are the JSON records (maps); a field
// the record lacks reads as its type's zero value ("" for a string, [] for
// a list), as a protobuf field would, and has() tells whether it is there.
type provider struct {
	*types.Registry
	objects map[string]*shape
}

// FindStructType implements types.Provider for the specs' objects.
func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := p.objects[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

// FindStructFieldNames implements types.Provider for the specs' objects.
func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if sh, ok := p.objects[name]; ok {
		return sh.fieldNames(), true
	}
	return p.Registry.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider for the specs' objects.
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	sh, ok := p.objects[name]
	if !ok {
		return p.Registry.FindStructFieldType(name, field)
	}
	f, ok := sh.props[field]
	if !ok {
		return nil, false
	}
	return &types.FieldType{
		Type: celType(f),
		IsSet: func(obj any) bool {
			m, _ := obj.(map[string]any)
			v, ok := m[field]
			return ok && v != nil
		},
		GetFrom: func(obj any) (any, error) {
			m, ok := obj.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s is not an object", name)
			}
			v, ok := m[field]
			if !ok || v == nil {
				return zero(f), nil
			}
			return coerce(f, v), nil
		},
	}, true
}

// celType is the CEL type of a shape.
func celType(sh *shape) *types.Type {
	switch sh.kind {
	case kindString:
		return types.StringType
	case kindInt:
		return types.IntType
	case kindDouble:
		return types.DoubleType
	case kindBool:
		return types.BoolType
	case kindList:
		return types.NewListType(celType(sh.elem))
	case kindMap:
		return types.NewMapType(types.StringType, celType(sh.elem))
	case kindObject:
		return types.NewObjectType(sh.name)
	}
	return types.DynType
}

// zero is the value a field the record lacks reads as.
func zero(sh *shape) any {
	switch sh.kind {
	case kindString:
		return ""
	case kindInt:
		return int64(0)
	case kindDouble:
		return float64(0)
	case kindBool:
		return false
	case kindList:
		return []any{}
	case kindMap, kindObject:
		return map[string]any{}
	}
	return nil
}

// coerce makes JSON's numbers (float64) integers where the schema says
// integer, in the value and in the lists and maps it holds; objects are
// coerced field by field as they are read.
func coerce(sh *shape, v any) any {
	switch sh.kind {
	case kindInt:
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			return int64(f)
		}
	case kindList:
		if l, ok := v.([]any); ok && needsCoercion(sh.elem) {
			out := make([]any, len(l))
			for i, e := range l {
				out[i] = coerce(sh.elem, e)
			}
			return out
		}
	case kindMap:
		if m, ok := v.(map[string]any); ok && needsCoercion(sh.elem) {
			out := make(map[string]any, len(m))
			for k, e := range m {
				out[k] = coerce(sh.elem, e)
			}
			return out
		}
	}
	return v
}

func needsCoercion(sh *shape) bool {
	return sh.kind == kindInt || sh.kind == kindList || sh.kind == kindMap
}

// envs are the CEL environments of the triggers, each made once.
type envs struct {
	mu   sync.Mutex
	envs map[string]*cel.Env
}

// env is the environment of a trigger's conditions: its variables typed by
// the trigger's schemas.
func (c *Catalog) env(name string) (*cel.Env, error) {
	c.envs.mu.Lock()
	defer c.envs.mu.Unlock()
	if e, ok := c.envs.envs[name]; ok {
		return e, nil
	}
	root := c.vars(name)
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(&provider{Registry: c.registry, objects: c.types.objects}),
		cel.ParserExpressionSizeLimit(maxConditionBytes),
		cel.ParserRecursionLimit(maxConditionDepth),
	}
	for _, v := range slices.Sorted(maps.Keys(root.props)) {
		opts = append(opts, cel.Variable(v, celType(root.props[v])))
	}
	e, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("rules: conditions of %s: %w", name, err)
	}
	if c.envs.envs == nil {
		c.envs.envs = map[string]*cel.Env{}
	}
	c.envs.envs[name] = e
	return e, nil
}
