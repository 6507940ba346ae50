// Package jsonstream writes a large value as encoding/json encodes it, the
// bytes json.Marshal gives, without holding its encoding in memory: a
// struct a field at a time and a slice a value at a time, so that only one
// record of a table is ever encoded in memory. The struct tags it reads are
// a field's name and omitempty (a test holds it to json.Marshal for the
// types it is used with).
package jsonstream

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

var marshalerType = reflect.TypeFor[json.Marshaler]()

// Encode writes v as json.Marshal encodes it: a struct (one without a
// MarshalJSON of its own) a field at a time, a slice a value at a time,
// each value as json.Marshal encodes it.
func Encode(w *bufio.Writer, v reflect.Value) error {
	switch {
	case v.Kind() == reflect.Struct && !v.Type().Implements(marshalerType):
		return Fields(w, v.Type(),
			func(f Field) bool { return f.OmitEmpty && Empty(v.Field(f.Index)) },
			func(f Field) error { return Encode(w, v.Field(f.Index)) })
	case v.Kind() == reflect.Slice && !v.IsNil() && !v.Type().Implements(marshalerType):
		// An encoder into one buffer writes each value as json.Marshal
		// does, and a newline, without a new slice a value.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		w.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				w.WriteByte(',')
			}
			buf.Reset()
			if err := enc.Encode(v.Index(i).Interface()); err != nil {
				return err
			}
			w.Write(buf.Bytes()[:buf.Len()-1])
		}
		return w.WriteByte(']')
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Field is a field of a struct as encoding/json encodes it.
type Field struct {
	Index     int // in the struct
	Name      string
	OmitEmpty bool
}

// Fields writes a JSON object of struct type t's fields, in order, as
// encoding/json does: omit says whether a field is left out (its omitempty
// and its value empty), value writes a field's value after its key.
func Fields(w *bufio.Writer, t reflect.Type, omit func(Field) bool, value func(Field) error) error {
	w.WriteByte('{')
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		jf := Field{Index: i, Name: name, OmitEmpty: opts == "omitempty"}
		if omit(jf) {
			continue
		}
		if !first {
			w.WriteByte(',')
		}
		first = false
		key, err := json.Marshal(name)
		if err != nil {
			return err
		}
		w.Write(key)
		w.WriteByte(':')
		if err := value(jf); err != nil {
			return err
		}
	}
	return w.WriteByte('}')
}

// Empty is omitempty's test for the kinds of field the twins' state holds.
func Empty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map, reflect.String, reflect.Array:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Struct:
		return false
	}
	return v.IsZero()
}
