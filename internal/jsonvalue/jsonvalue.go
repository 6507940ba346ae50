// Package jsonvalue reads JSON texts token by token, as encoding/json reads
// them into any, without its reflection: for the twins' request bodies (the
// pipeline's value, which kin-openapi's validators see) and the records an
// import checks.
package jsonvalue

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Lenient reads a text as encoding/json reads it into a map: a key given
// twice keeps its last value, and invalid UTF-8 (or an escaped lone
// surrogate) is U+FFFD rather than an error; the callers' texts have been
// judged for it before.
var Lenient = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// decoders are the decoders of Decoder, reused (each holds buffers of a few
// kilobytes), with the reader of their text and the function that hands
// them back: a use allocates nothing of its own.
var decoders sync.Pool

func init() {
	decoders.New = func() any {
		d := &pooledDecoder{}
		d.dec = jsontext.NewDecoder(&d.text)
		d.release = func() {
			d.text.Reset(nil) // not holding the text until its next use
			d.dec.Reset(&d.text)
			decoders.Put(d)
		}
		return d
	}
}

type pooledDecoder struct {
	dec     *jsontext.Decoder
	text    bytes.Reader
	release func()
}

// Decoder returns a decoder of data with the Lenient options, and release,
// which hands it back for reuse: call it once done with the decoder (and
// with any value it returned, which may be its own buffer).
func Decoder(data []byte) (dec *jsontext.Decoder, release func()) {
	d := decoders.Get().(*pooledDecoder)
	d.text.Reset(data)
	d.dec.Reset(&d.text, Lenient...)
	return d.dec, d.release
}

// Numbers says how Read makes a JSON number.
type Numbers int

const (
	// Number reads numbers as json.Number, as encoding/json's Decoder
	// does with UseNumber (kin-openapi's body decoder).
	Number Numbers = iota
	// Float64 reads everything but strings, booleans and arrays of them
	// (numbers, null, objects) as jsonv2.UnmarshalDecode reads them into
	// any: numbers as float64.
	Float64
)

// Read reads the next value of dec into what encoding/json makes of it in
// an any: objects as map[string]any, arrays as []any, strings, bool, nil,
// and numbers as numbers says.
//
// names are strings an object's keys are likely to be (a schema's property
// names): a key spelled as one of them, without escapes, is that string
// rather than a new one. nil is none.
func Read(dec *jsontext.Decoder, names map[string]string, numbers Numbers) (any, error) {
	if numbers == Float64 {
		switch dec.PeekKind() {
		case '"', 't', 'f', '[':
		default:
			var v any
			err := jsonv2.UnmarshalDecode(dec, &v)
			return v, err
		}
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	case 'n':
		return nil, nil
	case '[':
		// The elements first, then the slice at its size, as an object's
		// members: one allocation, where one appended to grows from one.
		var buf [16]any
		xs := buf[:0]
		for dec.PeekKind() != ']' {
			x, err := Read(dec, names, numbers)
			if err != nil {
				return nil, err
			}
			xs = append(xs, x)
		}
		_, err := dec.ReadToken()
		return append([]any{}, xs...), err
	case '{':
		// The members first, then the map at its size: one allocation,
		// where a map filled as read grows (and rehashes) past 8.
		var buf [16]member
		members := buf[:0]
		for dec.PeekKind() != '}' {
			quoted, err := dec.ReadValue() // dec's, until its next read
			if err != nil {
				return nil, err
			}
			key := Name(quoted, names)
			v, err := Read(dec, names, numbers)
			if err != nil {
				return nil, err
			}
			members = append(members, member{key, v})
		}
		m := make(map[string]any, len(members))
		for _, mb := range members {
			m[mb.name] = mb.value // in order: a name given twice keeps its last value
		}
		_, err := dec.ReadToken()
		return m, err
	}
	return nil, errors.New("jsonvalue: unexpected JSON token") // the decoder reports syntax errors itself
}

// member is an object's member as Read reads it.
type member struct {
	name  string
	value any
}

// Name is an object member's name from its JSON string, quoted: one of
// names when it is spelled so without escapes, else the name unquoted.
func Name(quoted jsontext.Value, names map[string]string) string {
	if text := quoted[1 : len(quoted)-1]; bytes.IndexByte(text, '\\') < 0 && utf8.Valid(text) {
		if name, ok := names[string(text)]; ok {
			return name
		}
		return string(text)
	}
	return string(unquote(quoted))
}

// RawName is an object member's name from its JSON string, quoted: the
// text between the quotes when it has no escape (dec's bytes, until its next
// read), else the name unquoted. Unlike Name, it leaves invalid UTF-8 as it
// is when there is no escape: for names looked up among valid ones, which
// such a name never matches either way.
func RawName(quoted jsontext.Value) []byte {
	if bytes.IndexByte(quoted, '\\') < 0 {
		return quoted[1 : len(quoted)-1]
	}
	return unquote(quoted)
}

// unquote unquotes a JSON string the decoder has read: its one error left
// is invalid UTF-8 (or a lone surrogate escape), which AppendUnquote
// replaces with U+FFFD, as encoding/json does.
func unquote(quoted jsontext.Value) []byte {
	name, _ := jsontext.AppendUnquote(nil, quoted)
	return name
}
