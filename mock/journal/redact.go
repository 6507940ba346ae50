package journal

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Redacted replaces every secret the journal would otherwise keep.
const redacted = "[redacted]"

// secretHeaders are the headers whose values are never kept.
var secretHeaders = map[string]bool{
	"authorization":       true,
	"proxy-authorization": true,
	"cookie":              true,
	"set-cookie":          true,
	"x-admin-token":       true,
}

// urlHeaders carry URLs whose query (and fragment) get the same treatment as
// a request's query: an OAuth redirect's Location holds the code.
var urlHeaders = map[string]bool{
	"location":         true,
	"content-location": true,
	"referer":          true,
}

// redactURL redacts the secret keys of a URL's query and fragment.
func redactURL(u string) string {
	rest, frag, hasFrag := strings.Cut(u, "#")
	base, query, hasQuery := strings.Cut(rest, "?")
	out := base
	if hasQuery {
		out += "?" + redactForm(query)
	}
	if hasFrag {
		out += "#" + redactForm(frag)
	}
	return out
}

// authSchemes are the Authorization schemes kept in front of "[redacted]".
// Anything else is redacted whole: the first word of an unknown value may
// well be the secret itself.
var authSchemes = map[string]bool{
	"basic": true, "bearer": true, "digest": true, "token": true, "negotiate": true,
	"ntlm": true, "hoba": true, "mutual": true, "dpop": true, "apikey": true,
}

// secretKeys are the body and query keys whose values are never kept,
// compared case-insensitively.
var secretKeys = map[string]bool{
	"access_token":  true,
	"refresh_token": true,
	"client_secret": true,
	"code":          true,
	"password":      true,
	"token":         true,
	"secret":        true,
	"apikey":        true,
	"api_key":       true,
}

func isSecretKey(k string) bool { return secretKeys[strings.ToLower(k)] }

// redactHeaders returns a copy of h with the values of secret headers
// replaced, and the secret query keys of URL headers redacted.
func redactHeaders(h map[string][]string) map[string][]string {
	if h == nil {
		return nil
	}
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		lower := strings.ToLower(k)
		if urlHeaders[lower] {
			rvs := make([]string, len(vs))
			for i, v := range vs {
				rvs[i] = redactURL(v)
			}
			out[k] = rvs
			continue
		}
		if !secretHeaders[lower] {
			out[k] = append([]string(nil), vs...)
			continue
		}
		rvs := make([]string, len(vs))
		for i, v := range vs {
			rvs[i] = redacted
			if lower == "authorization" || lower == "proxy-authorization" {
				if scheme, _, ok := strings.Cut(strings.TrimSpace(v), " "); ok && authSchemes[strings.ToLower(scheme)] {
					rvs[i] = scheme + " " + redacted
				}
			}
		}
		out[k] = rvs
	}
	return out
}

// redactForm replaces the values of secret keys in an
// application/x-www-form-urlencoded text (a form body or a raw query),
// leaving every other byte as it was.
func redactForm(s string) string {
	if s == "" {
		return s
	}
	pairs := strings.Split(s, "&")
	changed := false
	for i, pair := range pairs {
		k, _, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		if isSecretKey(key) {
			pairs[i] = k + "=" + redacted
			changed = true
		}
	}
	if !changed {
		return s
	}
	return strings.Join(pairs, "&")
}

// redactJSON replaces the values of secret keys, at any depth, in a valid
// JSON text, leaving every other byte as it was. It reports false when data
// is not one valid JSON value.
func redactJSON(data []byte) ([]byte, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var spans [][2]int64 // [start, end) of each secret value
	if err := walkJSON(dec, &spans); err != nil {
		return nil, false
	}
	if len(spans) == 0 {
		return data, true
	}
	var out bytes.Buffer
	var last int64
	for _, sp := range spans {
		out.Write(data[last:sp[0]])
		out.WriteString(`"` + redacted + `"`)
		last = sp[1]
	}
	out.Write(data[last:])
	return out.Bytes(), true
}

// walkJSON reads one value from dec, appending to spans where the values of
// secret keys lie.
func walkJSON(dec *json.Decoder, spans *[][2]int64) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	for dec.More() {
		if delim == '{' {
			ktok, err := dec.Token()
			if err != nil {
				return err
			}
			if key, _ := ktok.(string); isSecretKey(key) {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return err
				}
				end := dec.InputOffset()
				*spans = append(*spans, [2]int64{end - int64(len(raw)), end})
				continue
			}
		}
		if err := walkJSON(dec, spans); err != nil {
			return err
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// secretJSONValue finds secret keys' values in text that is not valid JSON
// (a body cut short, or a malformed one): a string (terminated or running to
// the end of the text) or any bare run up to the next delimiter.
var secretJSONValue = regexp.MustCompile(`(?i)("(?:access_token|refresh_token|client_secret|code|password|token|secret|apikey|api_key)"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}\]\s]*)`)

func scrubJSON(data []byte) []byte {
	return secretJSONValue.ReplaceAll(data, []byte(`${1}"`+redacted+`"`))
}

// Secrets in bodies of any other type, found by their shape: key=value
// pairs (a form sent with the wrong content type) and multipart fields.
var (
	secretPair      = regexp.MustCompile(`(?i)((?:^|[&\s;?])(?:access_token|refresh_token|client_secret|code|password|token|secret|apikey|api_key)=)[^&\s;]*`)
	secretMultipart = regexp.MustCompile(`(?i)(name="(?:access_token|refresh_token|client_secret|code|password|token|secret|apikey|api_key)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)[^\r\n]*`)
)

// scrubText redacts the secrets of a body whose type says nothing about its
// shape, trying every shape a secret may take in it.
func scrubText(data []byte) []byte {
	data = scrubJSON(data)
	data = secretPair.ReplaceAll(data, []byte(`${1}`+redacted))
	return secretMultipart.ReplaceAll(data, []byte(`${1}`+redacted))
}

type bodyKind int

const (
	kindOther bodyKind = iota
	kindJSON
	kindForm
)

// kindOf tells how to redact a body of content type ct. A body without a
// content type is redacted as JSON when it looks like JSON, else as a form
// (which only ever touches key=value pairs with a secret key).
func kindOf(ct string, body []byte) bodyKind {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(strings.ToLower(strings.TrimSpace(ct)), ";")
	}
	switch {
	case mt == "application/x-www-form-urlencoded":
		return kindForm
	case mt == "", mt == "application/json", strings.HasSuffix(mt, "/json"), strings.HasSuffix(mt, "+json"):
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			return kindJSON
		}
		if mt == "" {
			return kindForm
		}
		return kindJSON
	}
	return kindOther
}

// redactBody redacts body as its content type says, then cuts it at MaxBody.
// It reports whether it cut. A JSON body that does not parse (malformed, or
// already cut short) is scrubbed textually instead.
func redactBody(ct string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	switch kindOf(ct, body) {
	case kindJSON:
		if out, ok := redactJSON(body); ok {
			body = out
		} else {
			body = scrubJSON(body)
		}
	case kindForm:
		body = []byte(redactForm(string(body)))
	default:
		body = scrubText(body)
	}
	return cut(body)
}

// cut returns at most MaxBody bytes of b, ending on a rune boundary, and
// whether it cut anything.
func cut(b []byte) (string, bool) {
	if len(b) <= MaxBody {
		return string(b), false
	}
	n := MaxBody
	for i := 0; i < utf8.UTFMax && n > 0 && !utf8.RuneStart(b[n]); i++ {
		n--
	}
	return string(b[:n]), true
}
