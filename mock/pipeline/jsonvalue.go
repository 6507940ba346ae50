package pipeline

import (
	"errors"
	"io"

	"github.com/contactbridge/contactbridge/internal/jsonvalue"
)

// errTrailing is a body with more after its value than white space.
var errTrailing = errors.New("pipeline: data after the JSON value")

// decodeValue decodes data, which must be one JSON value and nothing but
// white space around it, into what kin-openapi's JSON body decoder makes of
// it (encoding/json into any, numbers as json.Number): objects as
// map[string]any, arrays as []any, strings, json.Number, bool and nil. It
// reads the text once, token by token (jsonvalue.Read), without
// encoding/json's reflection and its scanner's second pass. Unlike
// kin-openapi's decoder, it refuses what follows the value, as the
// handlers' decoding (json.Unmarshal) does. A key given twice keeps its
// last value, and an escaped lone surrogate is U+FFFD (the body's bytes are
// valid UTF-8: the pipeline has checked them).
//
// names are strings an object's keys are likely to be (a schema's property
// names): a key spelled as one of them, without escapes, is that string
// rather than a new one.
func decodeValue(data []byte, names map[string]string) (any, error) {
	dec, release := jsonvalue.Decoder(data)
	defer release()
	v, err := jsonvalue.Read(dec, names, jsonvalue.Number)
	if err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, errTrailing
	}
	return v, nil
}
