package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// valueDecoders are the decoders of decodeValue, reused (each holds buffers
// of a few kilobytes).
var valueDecoders = sync.Pool{New: func() any { return jsontext.NewDecoder(bytes.NewReader(nil)) }}

// valueOptions read a body as encoding/json's Decoder does: a key given
// twice keeps its last value, and an escaped lone surrogate is U+FFFD (the
// body's bytes are valid UTF-8: the pipeline has checked them).
var valueOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// errTrailing is a body with more after its value than white space.
var errTrailing = errors.New("pipeline: data after the JSON value")

// decodeValue decodes data, which must be one JSON value and nothing but
// white space around it, into what kin-openapi's JSON body decoder makes of
// it (encoding/json into any, numbers as json.Number): objects as
// map[string]any, arrays as []any, strings, json.Number, bool and nil. It
// reads the text once, token by token, without encoding/json's reflection
// and its scanner's second pass. Unlike kin-openapi's decoder, it refuses
// what follows the value, as the handlers' decoding (json.Unmarshal) does.
//
// names are strings an object's keys are likely to be (a schema's property
// names): a key spelled as one of them, without escapes, is that string
// rather than a new one.
func decodeValue(data []byte, names map[string]string) (any, error) {
	dec := valueDecoders.Get().(*jsontext.Decoder)
	dec.Reset(bytes.NewReader(data), valueOptions...)
	defer func() {
		dec.Reset(bytes.NewReader(nil)) // not holding data until its next use
		valueDecoders.Put(dec)
	}()
	v, err := readValue(dec, names)
	if err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, errTrailing
	}
	return v, nil
}

// readValue reads the next value of dec (see decodeValue).
func readValue(dec *jsontext.Decoder, names map[string]string) (any, error) {
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
		xs := []any{}
		for dec.PeekKind() != ']' {
			x, err := readValue(dec, names)
			if err != nil {
				return nil, err
			}
			xs = append(xs, x)
		}
		_, err := dec.ReadToken()
		return xs, err
	case '{':
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			key, err := readName(dec, names)
			if err != nil {
				return nil, err
			}
			v, err := readValue(dec, names)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err := dec.ReadToken()
		return m, err
	}
	return nil, errors.New("pipeline: unexpected JSON token") // the decoder reports syntax errors itself
}

// readName reads an object member's name: one of names when it is spelled
// so without escapes, else the name unquoted.
func readName(dec *jsontext.Decoder, names map[string]string) (string, error) {
	quoted, err := dec.ReadValue() // dec's, until its next read
	if err != nil {
		return "", err
	}
	if text := quoted[1 : len(quoted)-1]; bytes.IndexByte(text, '\\') < 0 && utf8.Valid(text) {
		if name, ok := names[string(text)]; ok {
			return name, nil
		}
		return string(text), nil
	}
	// The decoder has checked the syntax: the one error left is invalid
	// UTF-8 (or a lone surrogate escape), which AppendUnquote replaces with
	// U+FFFD, as encoding/json does.
	name, _ := jsontext.AppendUnquote(nil, quoted)
	return string(name), nil
}
