// Package jsonguard bounds and tightens JSON decoding for bodies a client
// controls: CheckDepth refuses a text nested too deep before anything decodes
// it, and Unmarshal decodes keys by their exact case, as the specs' validators
// read them (encoding/json alone matches keys without regard to case).
package jsonguard

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is how deeply the twins let a request body nest objects and
// arrays: far more than any body of either API, far less than what makes
// validation costly.
const MaxDepth = 64

// ErrTooDeep is returned by CheckDepth for a text nested past its limit.
var ErrTooDeep = errors.New("jsonguard: nested too deeply")

// ErrKeyCase is returned by Unmarshal for a key that names a field in
// another case.
var ErrKeyCase = errors.New("jsonguard: key in the wrong case")

// KeyError is a key that matches a field only without regard to case.
type KeyError struct {
	Key   string // as sent
	Field string // as declared
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("property %s should not exist (did you mean %s?)", e.Key, e.Field)
}

// Unwrap makes errors.Is(err, ErrKeyCase) hold.
func (e *KeyError) Unwrap() error { return ErrKeyCase }

// CheckDepth reports ErrTooDeep when data nests objects and arrays deeper
// than max. It reads the text about once (a string's a run at a time, to its
// next quote) and allocates nothing, so it bounds the work before any
// decoder or validator runs; it does not check that data is valid JSON.
func CheckDepth(data []byte, max int) error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '"':
			end, ok := stringEnd(data, i+1)
			if !ok {
				return nil // the rest is a string: nothing nests in it
			}
			i = end
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("%w: past %d levels at byte %d", ErrTooDeep, max, i)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}

// stringEnd returns where the quote is that ends the string whose text
// starts at data[i:] (a backslash escapes the byte after it), found a run
// of text at a time; false when none does.
func stringEnd(data []byte, i int) (int, bool) {
	for {
		j := bytes.IndexByte(data[i:], '"')
		if j < 0 {
			return 0, false
		}
		j += i
		// Escaped when an odd number of backslashes comes before it.
		k := j
		for k > i && data[k-1] == '\\' {
			k--
		}
		if (j-k)%2 == 0 {
			return j, true
		}
		i = j + 1
	}
}

// Unmarshal decodes data into v as json.Unmarshal does, except that a key
// naming a field of v only without regard to case is a *KeyError, and
// nothing is decoded: a key decodes into a field only when it is spelled as
// the field's JSON name. Keys that name no field are left to v's type, as
// json.Unmarshal leaves them.
func Unmarshal(data []byte, v any) error {
	t := reflect.TypeOf(v)
	if t != nil && t.Kind() == reflect.Pointer && planOf(t.Elem()).suspects(data) {
		var raw any
		if err := json.Unmarshal(data, &raw); err != nil {
			return err
		}
		if err := checkKeys(raw, t.Elem()); err != nil {
			return err
		}
	}
	return json.Unmarshal(data, v)
}

var (
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// custom reports whether t decodes itself.
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t.Implements(unmarshalerType) || p.Implements(unmarshalerType) ||
		t.Implements(textUnmarshalerType) || p.Implements(textUnmarshalerType)
}

// plan is what Unmarshal knows of a type before it decodes: the field
// names of every struct a value of the type may hold, so that a text whose
// keys all pass is decoded once, without the walk of checkKeys.
type plan struct {
	// spelling maps each folded field name (fold) to its one spelling, or to
	// "" when the structs spell it in more than one way.
	spelling map[string]string
}

var planCache sync.Map // reflect.Type -> *plan

func planOf(t reflect.Type) *plan {
	if p, ok := planCache.Load(t); ok {
		return p.(*plan)
	}
	p := &plan{}
	if needsCheck(t, map[reflect.Type]bool{}) {
		p.spelling = map[string]string{}
		p.collect(t, map[reflect.Type]bool{})
	}
	planCache.Store(t, p)
	return p
}

// collect adds the field names of the structs under t, as checkKeys walks
// them.
func (p *plan) collect(t reflect.Type, seen map[reflect.Type]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if seen[t] || custom(t) {
		return
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		p.collect(t.Elem(), seen)
	case reflect.Struct:
		for name, ft := range fieldsOf(t).exact {
			lower := fold(name)
			if s, ok := p.spelling[lower]; ok && s != name {
				p.spelling[lower] = ""
			} else {
				p.spelling[lower] = name
			}
			p.collect(ft, seen)
		}
	}
}

// suspects reports whether data may hold a key that checkKeys would refuse:
// one that folds to a field name without being its spelling (or with an
// escape in it). It only scans the text; false means no key can fail.
func (p *plan) suspects(data []byte) bool {
	if p.spelling == nil {
		return false
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '"' {
			continue
		}
		start, escaped := i+1, false
		for i++; i < len(data) && data[i] != '"'; i++ {
			if data[i] == '\\' {
				escaped = true
				i++
			}
		}
		key := data[start:min(i, len(data))]
		j := i + 1
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\n' || data[j] == '\r') {
			j++
		}
		if j >= len(data) || data[j] != ':' {
			continue // a value, not a key
		}
		if escaped {
			return true
		}
		if s, ok := p.spelling[fold(string(key))]; ok && s != string(key) {
			return true
		}
	}
	return false
}

// needsCheck reports whether a value of type t holds a struct anywhere,
// which is where keys could match in the wrong case.
func needsCheck(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if custom(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return needsCheck(t.Elem(), seen)
	case reflect.Struct:
		return true
	}
	return false
}

// checkKeys walks the decoded value raw alongside the type it will decode
// into.
func checkKeys(raw any, t reflect.Type) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if custom(t) {
		return nil
	}
	switch v := raw.(type) {
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return nil
		}
		for _, e := range v {
			if err := checkKeys(e, t.Elem()); err != nil {
				return err
			}
		}
	case map[string]any:
		switch t.Kind() {
		case reflect.Map:
			for _, e := range v {
				if err := checkKeys(e, t.Elem()); err != nil {
					return err
				}
			}
		case reflect.Struct:
			fields := fieldsOf(t)
			for k, e := range v {
				f, ok := fields.exact[k]
				if !ok {
					if name, ok := fields.folded[fold(k)]; ok {
						return &KeyError{Key: k, Field: name}
					}
					continue
				}
				if err := checkKeys(e, f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fold returns s as encoding/json compares a key with a field's name: each
// letter mapped to its upper case, then to that one's lower case. Unlike
// strings.ToLower, it folds "ſ" (long s) to "s" and "ı" (dotless i) to
// "i", as encoding/json does, so "ſource" is caught as a spelling of
// "source".
func fold(s string) string {
	return strings.Map(func(r rune) rune { return unicode.ToLower(unicode.ToUpper(r)) }, s)
}

// structFields are the JSON names of a struct's fields.
type structFields struct {
	exact  map[string]reflect.Type // by name, the field's type
	folded map[string]string       // by folded name (fold), the name
}

var fieldCache sync.Map // reflect.Type -> *structFields

func fieldsOf(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f := &structFields{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	collectFields(t, f, 0)
	fieldCache.Store(t, f)
	return f
}

// collectFields adds t's fields to f, those of embedded structs without a
// JSON name included (as encoding/json promotes them); an outer field wins
// over an embedded one.
func collectFields(t reflect.Type, f *structFields, depth int) {
	if depth > 8 {
		return
	}
	var embedded []reflect.Type
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		if sf.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if _, ok := f.exact[name]; ok {
			continue
		}
		f.exact[name] = sf.Type
		f.folded[fold(name)] = name
	}
	for _, et := range embedded {
		collectFields(et, f, depth+1)
	}
}

// ErrInvalidUTF8 is returned by CheckUTF8 for text that is not valid UTF-8.
var ErrInvalidUTF8 = errors.New("jsonguard: text is not valid UTF-8")

// CheckUTF8 reports ErrInvalidUTF8 when data holds bytes that are not UTF-8,
// or a JSON string escape of half a surrogate pair ("\ud800" alone):
// encoding/json would replace either with U+FFFD, storing what the client
// did not send. Like CheckDepth it reads the text about once and allocates
// nothing; it does not check that data is valid JSON.
func CheckUTF8(data []byte) error {
	if !utf8.Valid(data) {
		return fmt.Errorf("%w: at byte %d", ErrInvalidUTF8, invalidAt(data))
	}
	if !bytes.Contains(data, []byte(`\u`)) {
		return nil // no escape of a code point, let alone of half a pair
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case !inString:
			inString = c == '"'
		case c == '"':
			inString = false
		case c == '\\' && i+1 < len(data):
			if data[i+1] != 'u' {
				i++ // the escaped byte
				continue
			}
			r, ok := escapedRune(data, i)
			switch {
			case !ok:
				i++
			case utf16.IsSurrogate(r) && r < 0xdc00:
				// A high half must be followed by an escaped low half.
				if low, ok := escapedRune(data, i+6); !ok || low < 0xdc00 || low > 0xdfff {
					return fmt.Errorf("%w: a lone surrogate escape at byte %d", ErrInvalidUTF8, i)
				}
				i += 11
			case utf16.IsSurrogate(r):
				return fmt.Errorf("%w: a lone surrogate escape at byte %d", ErrInvalidUTF8, i)
			default:
				i += 5
			}
		}
	}
	return nil
}

// escapedRune reads the \u escape (four hex digits) at data[i:].
func escapedRune(data []byte, i int) (rune, bool) {
	if i+6 > len(data) || data[i] != '\\' || data[i+1] != 'u' {
		return 0, false
	}
	var r rune
	for _, h := range data[i+2 : i+6] {
		switch {
		case '0' <= h && h <= '9':
			r = r<<4 | rune(h-'0')
		case 'a' <= h && h <= 'f':
			r = r<<4 | rune(h-'a'+10)
		case 'A' <= h && h <= 'F':
			r = r<<4 | rune(h-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// invalidAt is the offset of the first byte of data that is not UTF-8.
func invalidAt(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}
