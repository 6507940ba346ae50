package journal

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"strings"
	"unicode"
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

// redactURL redacts the password of a URL's user info and the secret keys of
// its query and fragment.
func redactURL(u string) string {
	u = RedactURLPasswords(u)
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

// isSecretKey tells the body, query and header names whose values are never
// kept, whatever their spelling: compared without case, "_" or "-", a name
// is secret when it is "code" or "authcode", or ends with "secret",
// "password", "passwd", "token" or "apikey" (client_secret, clientSecret,
// X-Api-Key, refresh-token, webhookSecret).
func isSecretKey(k string) bool {
	n := strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, k)
	if n == "code" || n == "authcode" || n == "authorizationcode" {
		return true
	}
	for _, suffix := range []string{"secret", "password", "passwd", "token", "apikey"} {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}

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
		if !secretHeaders[lower] && !isSecretKey(lower) {
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
		k, v, ok := strings.Cut(pair, "=")
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
			continue
		}
		// A URL with a password, escaped as a value.
		if value, err := url.QueryUnescape(v); err == nil && value != v {
			if clean := RedactURLPasswords(value); clean != value {
				pairs[i] = k + "=" + url.QueryEscape(clean)
				changed = true
			}
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

// scrubText redacts the secrets of a body whose type says nothing about its
// shape (or that does not parse as the type it declares), trying every shape
// a secret may take in it: a JSON member ("key": value, the string
// unterminated when the text is cut short), a key=value pair (a form), and a
// multipart field (name="key", its headers, a blank line, the value). It
// reads each byte a bounded number of times: it runs on every body read.
func scrubText(data []byte) []byte {
	var out []byte
	last := 0
	for i := 0; i < len(data); {
		if !isKeyByte(data[i]) {
			i++
			continue
		}
		start := i
		for i < len(data) && isKeyByte(data[i]) {
			i++
		}
		if i-start > maxKeyLen || !isSecretKey(string(data[start:i])) {
			continue
		}
		vs, ve, quote := secretValue(data, start, i)
		if vs < 0 {
			continue
		}
		out = append(out, data[last:vs]...)
		if quote {
			out = append(out, `"`+redacted+`"`...)
		} else {
			out = append(out, redacted...)
		}
		last, i = ve, max(ve, i)
	}
	if out == nil {
		return data
	}
	return append(out, data[last:]...)
}

// maxKeyLen is the longest name scrubText checks: no secret key is longer.
const maxKeyLen = 64

func isKeyByte(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// secretValue finds the value of the secret key data[start:end] in any of
// scrubText's shapes: its span, and whether a JSON string replaces it; vs
// is -1 when the key is in none.
func secretValue(data []byte, start, end int) (vs, ve int, quote bool) {
	quoted := start > 0 && data[start-1] == '"' && end < len(data) && data[end] == '"'
	if quoted {
		j := skipSpace(data, end+1)
		if j < len(data) && data[j] == ':' {
			vs = skipSpace(data, j+1)
			return vs, jsonValueEnd(data, vs), true
		}
		if start >= 6 && strings.EqualFold(string(data[start-6:start]), `name="`) {
			return multipartValue(data, end+1)
		}
		return -1, -1, false
	}
	if end < len(data) && data[end] == '=' && (start == 0 || strings.IndexByte("&?;,{\"' \t\r\n", data[start-1]) >= 0) {
		ve = end + 1
		for ve < len(data) && strings.IndexByte("& \t\r\n;", data[ve]) < 0 {
			ve++
		}
		return end + 1, ve, false
	}
	return -1, -1, false
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && strings.IndexByte(" \t\r\n", data[i]) >= 0 {
		i++
	}
	return i
}

// jsonValueEnd returns the end of the JSON value at data[i:]: a string to
// its closing quote (or the end of a text cut short), anything else to the
// next delimiter.
func jsonValueEnd(data []byte, i int) int {
	if i < len(data) && data[i] == '"' {
		for j := i + 1; j < len(data); j++ {
			switch data[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(data)
	}
	for i < len(data) && strings.IndexByte(",}] \t\r\n", data[i]) < 0 {
		i++
	}
	return i
}

// multipartValue finds a multipart field's value after its name: past the
// rest of the line and the part's headers, the line after the blank one.
func multipartValue(data []byte, i int) (vs, ve int, quote bool) {
	for {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			return -1, -1, false
		}
		i += nl + 1
		if i < len(data) && data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i += 2
			break
		}
		if i < len(data) && data[i] == '\n' {
			i++
			break
		}
	}
	ve = i
	for ve < len(data) && data[ve] != '\r' && data[ve] != '\n' {
		ve++
	}
	return i, ve, false
}

// RedactURLPasswords redacts the password of every URL with user info in s
// (https://user:password@host): between the first ":" after "://" and the
// last "@" of the URL's authority. The admin API shows webhook URLs with it.
func RedactURLPasswords(s string) string {
	var b strings.Builder
	last := 0
	for from := 0; ; {
		k := strings.Index(s[from:], "://")
		if k < 0 {
			break
		}
		auth := from + k + 3
		end := auth
		for end < len(s) && strings.IndexByte("/?#\"'<> \t\r\n\\", s[end]) < 0 {
			end++
		}
		from = end
		at := strings.LastIndexByte(s[auth:end], '@')
		if at < 0 {
			continue
		}
		colon := strings.IndexByte(s[auth:auth+at], ':')
		if colon < 0 {
			continue
		}
		b.WriteString(s[last : auth+colon+1])
		b.WriteString(redacted)
		last = auth + at
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
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
// It reports whether it cut. Whatever the type declared, the body is then
// scrubbed of every shape a secret may take in it (a form sent as JSON, say;
// a JSON body that does not parse, malformed or cut short, is only
// scrubbed), and of the passwords of URLs.
func redactBody(ct string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	switch kindOf(ct, body) {
	case kindJSON:
		if out, ok := redactJSON(body); ok {
			body = out
		}
	case kindForm:
		body = []byte(redactForm(string(body)))
	}
	body = scrubText(body)
	return cut([]byte(RedactURLPasswords(string(body))))
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
