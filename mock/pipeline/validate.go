package pipeline

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// requestError turns a kin-openapi request validation error into the API's
// answer: 400 for what the vendor rejects before validation (malformed JSON,
// headers, path parameters, content type), otherwise 422 with one message per
// problem, as the vendor's validation pipe answers.
func requestError(err error) *Error {
	status := http.StatusUnprocessableEntity
	var msgs []string
	for _, e := range flatten(err) {
		var reqErr *openapi3filter.RequestError
		if !errors.As(e, &reqErr) {
			msgs = append(msgs, clip(e.Error()))
			continue
		}
		switch {
		case reqErr.Parameter != nil:
			if reqErr.Parameter.In != openapi3.ParameterInQuery {
				status = http.StatusBadRequest
			}
			msgs = append(msgs, parameterMessages(reqErr)...)
		case reqErr.RequestBody != nil:
			m, bad := bodyMessages(reqErr)
			if bad {
				status = http.StatusBadRequest
			}
			msgs = append(msgs, m...)
		default:
			status = http.StatusBadRequest
			msgs = append(msgs, clip(reqErr.Error()))
		}
	}
	if len(msgs) == 0 {
		msgs = []string{clip(err.Error())}
	}
	slices.Sort(msgs)
	return &Error{Status: status, Messages: slices.Compact(msgs), Meta: fieldProblems(err), Err: err}
}

func flatten(err error) []error {
	// A type assertion, not errors.As: As would find the MultiError nested
	// deep inside a body's schema error.
	if multi, ok := err.(openapi3.MultiError); ok {
		var out []error
		for _, e := range multi {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func parameterMessages(e *openapi3filter.RequestError) []string {
	name := e.Parameter.Name
	if errors.Is(e.Err, openapi3filter.ErrInvalidRequired) || strings.Contains(e.Reason, "required") {
		if e.Parameter.In == openapi3.ParameterInHeader {
			return []string{fmt.Sprintf("%s header is missing", name)}
		}
		return []string{fmt.Sprintf("%s should not be empty", name)}
	}
	var out []string
	for _, se := range schemaErrors(e.Err) {
		out = append(out, schemaMessage(name, se))
	}
	if len(out) == 0 {
		out = append(out, clip(fmt.Sprintf("%s is invalid: %s", name, e.Error())))
	}
	return out
}

// bodyMessages returns the messages for a body error and whether it is a
// malformed body (400) rather than a schema violation (422).
func bodyMessages(e *openapi3filter.RequestError) ([]string, bool) {
	if ses := schemaErrors(e.Err); len(ses) > 0 {
		out := make([]string, 0, len(ses))
		for _, se := range ses {
			out = append(out, schemaMessage("", se))
		}
		return out, false
	}
	if errors.Is(e.Err, openapi3filter.ErrInvalidEmptyValue) || strings.Contains(e.Error(), "value is required but missing") {
		return []string{"Request body is required"}, true
	}
	var parse *openapi3filter.ParseError
	if errors.As(e.Err, &parse) {
		return []string{clip("Request body is not valid JSON: " + parse.Error())}, true
	}
	return []string{clip(e.Error())}, true
}

// schemaErrors returns the innermost schema errors under err: the ones that
// name the field at fault. A failed oneOf or anyOf stays one error rather
// than one per alternative.
func schemaErrors(err error) []*openapi3.SchemaError {
	var out []*openapi3.SchemaError
	var walk func(e error) bool
	walk = func(e error) bool {
		switch v := e.(type) {
		case nil:
			return false
		case openapi3.MultiError:
			found := false
			for _, x := range v {
				found = walk(x) || found
			}
			return found
		case *openapi3.SchemaError:
			if v.SchemaField != "oneOf" && v.SchemaField != "anyOf" && walk(v.Origin) {
				return true
			}
			out = append(out, v)
			return true
		}
		if u, ok := e.(interface{ Unwrap() []error }); ok {
			found := false
			for _, x := range u.Unwrap() {
				found = walk(x) || found
			}
			return found
		}
		return walk(errors.Unwrap(e))
	}
	walk(err)
	return out
}

// schemaMessage words a schema error as "field.path reason", the way the
// vendor's validation messages read ("email must be a string").
func schemaMessage(prefix string, se *openapi3.SchemaError) string {
	path := se.JSONPointer()
	if prefix != "" {
		path = append([]string{prefix}, path...)
	}
	reason := clip(se.Reason)
	for _, noun := range []string{"value ", "number ", "string ", "array ", "object "} {
		reason = strings.TrimPrefix(reason, noun)
	}
	if strings.HasPrefix(reason, "property ") && strings.HasSuffix(reason, " is missing") {
		reason = "should not be empty"
	}
	if len(path) == 0 {
		return reason
	}
	return strings.Join(path, ".") + " " + reason
}

// maxMessage is the longest message an error shows: kin-openapi's errors
// append the schema and the value at fault, which the client sent and can
// make as large as the body.
const maxMessage = 300

// clip cuts msg at its first line and at maxMessage bytes, on a rune
// boundary.
func clip(msg string) string {
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) <= maxMessage {
		return msg
	}
	n := maxMessage
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n] + "…"
}

// briefly words a response validation error in one short line per problem,
// without the schema and value dumps kin-openapi appends.
func briefly(err error) string {
	ses := schemaErrors(err)
	if len(ses) == 0 {
		return clip(err.Error())
	}
	msgs := make([]string, 0, len(ses))
	for _, se := range ses {
		msgs = append(msgs, schemaMessage("", se))
	}
	return strings.Join(msgs, "; ")
}

// fieldProblems maps each field a request's validation errors name to what
// is wrong with it, for APIs whose errors list fields; nil when none. A
// parameter that does not parse is named too, and so is a body property the
// schema does not declare.
func fieldProblems(err error) map[string]any {
	out := map[string]any{}
	for _, e := range flatten(err) {
		var reqErr *openapi3filter.RequestError
		if !errors.As(e, &reqErr) {
			continue
		}
		var prefix []string
		if reqErr.Parameter != nil {
			prefix = []string{reqErr.Parameter.Name}
		}
		ses := schemaErrors(reqErr.Err)
		if reqErr.Parameter != nil && len(ses) == 0 {
			out[reqErr.Parameter.Name] = "is not valid"
		}
		for _, se := range ses {
			path := append(slices.Clone(prefix), se.JSONPointer()...)
			reason := strings.TrimPrefix(schemaMessage("", se), strings.Join(se.JSONPointer(), ".")+" ")
			if name, ok := unsupportedProperty(se); ok {
				path, reason = append(path, name), "is not a known property"
			}
			if len(path) > 0 {
				out[strings.Join(path, ".")] = reason
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// unsupportedProperty names the property of a "property "x" is unsupported"
// error, which kin-openapi reports at the object holding it.
func unsupportedProperty(se *openapi3.SchemaError) (string, bool) {
	rest, ok := strings.CutPrefix(se.Reason, "property ")
	if !ok {
		return "", false
	}
	quoted, ok := strings.CutSuffix(rest, " is unsupported")
	if !ok {
		return "", false
	}
	name, err := strconv.Unquote(quoted)
	return name, err == nil
}
