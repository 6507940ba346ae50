package contract

import (
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// operation is one operation of the document.
type operation struct {
	id, method, path string
	op               *openapi3.Operation
	params           openapi3.Parameters
	// sameAs maps a parameter that names the record another parameter
	// names elsewhere (x-same-as: the calendars service's appointmentId is
	// the eventId of its other paths) to that parameter.
	sameAs map[string]string
}

// key is the name under which the parameter name's value is known.
func (o *operation) key(name string) string {
	if other, ok := o.sameAs[name]; ok {
		return other
	}
	return name
}

// inPath tells whether o's path holds the parameter known as key.
func (o *operation) inPath(key string) bool {
	for _, p := range o.params {
		if p.Value != nil && p.Value.In == openapi3.ParameterInPath && o.key(p.Value.Name) == key &&
			strings.Contains(o.path, "{"+p.Value.Name+"}") {
			return true
		}
	}
	return false
}

// resource is a collection the document lets a client create in (or,
// without create, read) and its items, with what runs inside it.
type resource struct {
	collection, item, idParam string
	create, list              *operation
	get, update, del          *operation
	children                  []*resource
	extra                     []*operation
	parent                    *resource
}

// operations lists the document's operations by path and method.
func operations(doc *openapi3.T) []*operation {
	var out []*operation
	for _, path := range sortedKeys(doc.Paths.Map()) {
		item := doc.Paths.Value(path)
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, op.Parameters...)
			id := op.OperationID
			if id == "" {
				id = method + " " + path
			}
			sameAs := map[string]string{}
			for _, p := range params {
				if p.Value == nil {
					continue
				}
				if other, ok := p.Value.Extensions["x-same-as"].(string); ok {
					sameAs[p.Value.Name] = other
				}
			}
			out = append(out, &operation{id: id, method: method, path: path, op: op, params: params, sameAs: sameAs})
		}
	}
	return out
}

// resources finds the collections and their items, nests sub-resources
// and the resources that need another's id, and hands every other
// operation to the deepest resource it lives under or needs; what is left
// is global.
func resources(ops []*operation) (top []*resource, global []*operation) {
	byPath := map[string]map[string]*operation{}
	for _, o := range ops {
		if byPath[o.path] == nil {
			byPath[o.path] = map[string]*operation{}
		}
		byPath[o.path][o.method] = o
	}
	used := map[*operation]bool{}
	var all []*resource
	for _, path := range sortedKeys(byPath) {
		if strings.HasSuffix(path, "}") {
			continue
		}
		col := byPath[path]
		base := strings.TrimSuffix(path, "/")
		for _, ipath := range sortedKeys(byPath) {
			rest, ok := strings.CutPrefix(ipath, base+"/{")
			if !ok || !strings.HasSuffix(rest, "}") || strings.Contains(rest, "/") {
				continue
			}
			item := byPath[ipath]
			r := &resource{collection: path, item: ipath, idParam: strings.TrimSuffix(rest, "}"),
				create: col["POST"], list: col["GET"], get: item["GET"], update: item["PUT"], del: item["DELETE"]}
			if r.update == nil {
				r.update = item["PATCH"]
			}
			if r.create == nil && (r.list == nil || r.get == nil) {
				continue
			}
			for _, o := range []*operation{r.create, r.list, r.get, r.update, r.del} {
				if o != nil {
					used[o] = true
				}
			}
			all = append(all, r)
			break
		}
	}
	// The deepest resource whose item a path lies under.
	under := func(path string, skip *resource) *resource {
		var best *resource
		for _, r := range all {
			if r != skip && strings.HasPrefix(path, r.item+"/") && (best == nil || len(r.item) > len(best.item)) {
				best = r
			}
		}
		return best
	}
	// The deepest resource whose id an operation needs.
	needs := func(o *operation, skip *resource) *resource {
		var best *resource
		for _, r := range all {
			if r != skip && requires(o, r.idParam) && (best == nil || len(r.item) > len(best.item)) {
				best = r
			}
		}
		return best
	}
	for _, r := range all {
		r.parent = under(r.collection, r)
		if r.parent == nil {
			for _, o := range []*operation{r.create, r.list} {
				if o != nil && r.parent == nil {
					r.parent = needs(o, r)
				}
			}
		}
	}
	for _, o := range ops {
		if used[o] {
			continue
		}
		owner := under(o.path, nil)
		if owner == nil {
			owner = needs(o, nil)
		}
		if owner == nil {
			global = append(global, o)
			continue
		}
		owner.extra = append(owner.extra, o)
		// A read-only resource whose operations need another's id runs
		// inside that one.
		if owner.parent == nil && owner.create == nil {
			if p := needs(o, owner); p != nil && !descends(p, owner) {
				owner.parent = p
			}
		}
	}
	for _, r := range all {
		if r.parent != nil && descends(r.parent, r) {
			r.parent = nil
		}
		if r.parent != nil {
			r.parent.children = append(r.parent.children, r)
		} else {
			top = append(top, r)
		}
	}
	return top, global
}

// descends tells whether r is d or lies under it.
func descends(r, d *resource) bool {
	for ; r != nil; r = r.parent {
		if r == d {
			return true
		}
	}
	return false
}

// requires tells whether o needs name as a required parameter or
// required top-level body field.
func requires(o *operation, name string) bool {
	for _, p := range o.params {
		if p.Value != nil && o.key(p.Value.Name) == name && p.Value.Required {
			return true
		}
	}
	if s := bodySchema(o); s != nil {
		for _, r := range flatten(s).Required {
			if r == name {
				return true
			}
		}
	}
	return false
}

func bodySchema(o *operation) *openapi3.Schema {
	if o.op.RequestBody == nil || o.op.RequestBody.Value == nil {
		return nil
	}
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded"} {
		if mt := o.op.RequestBody.Value.Content.Get(ct); mt != nil && mt.Schema != nil {
			return mt.Schema.Value
		}
	}
	return nil
}

func formBody(o *operation) bool {
	return o.op.RequestBody != nil && o.op.RequestBody.Value != nil &&
		o.op.RequestBody.Value.Content.Get("application/json") == nil &&
		o.op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded") != nil
}

func unknownID(like any) any {
	if _, ok := like.(int64); ok {
		return int64(999999999)
	}
	if s, ok := like.(string); ok && len(s) == 20 {
		return "ContractCheckUnknown"
	}
	return "contract-check-unknown"
}

func secured(o *operation) bool {
	return o.op.Security == nil || len(*o.op.Security) > 0
}

func scopes(o *operation) []string {
	var out []string
	if o.op.Security != nil {
		for _, req := range *o.op.Security {
			for _, s := range req {
				out = append(out, s...)
			}
		}
	}
	if perms, ok := o.op.Extensions["x-permissions"].([]any); ok {
		for _, p := range perms {
			if s, ok := p.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func covered(need, have []string) bool {
	for _, n := range need {
		found := false
		for _, h := range have {
			found = found || h == n
		}
		if !found {
			return false
		}
	}
	return true
}
