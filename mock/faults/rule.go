package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Errors of the package.
var (
	// ErrInvalidRule wraps every error Rule.Validate and Injector.Add return.
	ErrInvalidRule = errors.New("faults: invalid rule")
	// ErrNotFound is returned by Injector.Delete for an unknown rule id.
	ErrNotFound = errors.New("faults: no such rule")
)

// Effect kinds.
const (
	KindLatency  = "latency"
	KindError    = "error"
	KindReset    = "reset"
	KindHang     = "hang"
	KindTruncate = "truncate"
)

// Latency distributions.
const (
	DistFixed   = "fixed"
	DistUniform = "uniform"
	DistNormal  = "normal"
)

// Match selects the requests a rule applies to. Every field that is set must
// match; an empty Match matches every request.
type Match struct {
	// Operation is an operationId of the spec.
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`
	// Method is an HTTP method, compared case-insensitively.
	Method string `json:"method,omitempty" yaml:"method,omitempty"`
	// Path is a pattern on the request path (r.URL.Path): segments are
	// compared exactly, except that a "*" segment matches any one non-empty
	// segment and a final "**" segment matches any rest, none included
	// (/contacts/** matches /contacts, /contacts/a and /contacts/a/tasks).
	Path string `json:"path,omitempty" yaml:"path,omitempty"`
	// Location is a location id, as Options.LocationOf tells it.
	Location string `json:"location,omitempty" yaml:"location,omitempty"`
}

// Duration is a time.Duration that reads and writes itself as a Go duration
// string ("250ms", "1.5s") in JSON and YAML.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String returns d as "250ms".
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string; a bare 0 is accepted too.
func (d *Duration) UnmarshalJSON(data []byte) error {
	s := string(data)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
	}
	return d.parse(s)
}

// MarshalYAML writes d as a duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("faults: line %d: a duration is a string like \"250ms\"", n.Line)
	}
	return d.parse(n.Value)
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("faults: duration %q: want a string like \"250ms\": %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Latency is how long a latency effect waits.
type Latency struct {
	// Distribution is fixed (Fixed), uniform (in [Min, Max]) or normal (Mean,
	// StdDev; draws below zero count as zero).
	Distribution string   `json:"distribution" yaml:"distribution"`
	Fixed        Duration `json:"fixed,omitempty" yaml:"fixed,omitempty"`
	Min          Duration `json:"min,omitempty" yaml:"min,omitempty"`
	Max          Duration `json:"max,omitempty" yaml:"max,omitempty"`
	Mean         Duration `json:"mean,omitempty" yaml:"mean,omitempty"`
	StdDev       Duration `json:"stdDev,omitempty" yaml:"stdDev,omitempty"`
}

// Effect is what a rule does to the requests it fires on.
type Effect struct {
	// Kind is latency, error, reset, hang or truncate.
	Kind string `json:"kind"`
	// Latency parameters a latency effect.
	Latency *Latency `json:"latency,omitempty"`
	// Status is the status an error effect answers.
	Status int `json:"status,omitempty"`
	// Body is the JSON body an error effect sends as is; by default
	// {"statusCode":S,"message":"Injected fault","error":"<status text>"}.
	// In YAML it is written as a YAML value and converted to JSON.
	Body json.RawMessage `json:"body,omitempty"`
	// Headers are extra headers of an error effect.
	Headers map[string]string `json:"headers,omitempty"`
	// After makes an error, reset or hang effect happen after the write:
	// the handler runs and commits, and its answer is replaced by the
	// effect, so the client cannot tell that its change happened. A
	// truncate effect always comes after the handler; latency never does.
	After bool `json:"after,omitempty"`
}

// effectYAML is Effect as YAML sees it: the body is a YAML value.
type effectYAML struct {
	Kind    string            `yaml:"kind"`
	Latency *Latency          `yaml:"latency,omitempty"`
	Status  int               `yaml:"status,omitempty"`
	Body    any               `yaml:"body,omitempty"`
	Headers map[string]string `yaml:"headers,omitempty"`
	After   bool              `yaml:"after,omitempty"`
}

// MarshalYAML writes the body as a YAML value.
func (e Effect) MarshalYAML() (any, error) {
	out := effectYAML{Kind: e.Kind, Latency: e.Latency, Status: e.Status, Headers: e.Headers, After: e.After}
	if len(e.Body) > 0 {
		if err := json.Unmarshal(e.Body, &out.Body); err != nil {
			return nil, fmt.Errorf("faults: effect.body is not JSON: %w", err)
		}
	}
	return out, nil
}

// UnmarshalYAML reads the body as a YAML value and stores it as JSON.
func (e *Effect) UnmarshalYAML(n *yaml.Node) error {
	var in struct {
		Kind    string            `yaml:"kind"`
		Latency *Latency          `yaml:"latency"`
		Status  int               `yaml:"status"`
		Body    yaml.Node         `yaml:"body"` // not *yaml.Node: yaml.v3 leaves a pointer empty
		Headers map[string]string `yaml:"headers"`
		After   bool              `yaml:"after"`
	}
	if err := n.Decode(&in); err != nil {
		return err
	}
	*e = Effect{Kind: in.Kind, Latency: in.Latency, Status: in.Status, Headers: in.Headers, After: in.After}
	if in.Body.Kind != 0 && in.Body.Tag != "!!null" {
		var v any
		if err := in.Body.Decode(&v); err != nil {
			return err
		}
		body, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("faults: line %d: effect.body cannot be JSON: %w", in.Body.Line, err)
		}
		e.Body = body
	}
	return nil
}

// Rule is one fault: which requests, what effect, how often.
type Rule struct {
	// ID names the rule; Add assigns one when it is empty.
	ID     string `json:"id" yaml:"id"`
	Match  Match  `json:"match" yaml:"match"`
	Effect Effect `json:"effect" yaml:"effect"`
	// Probability is the chance that the rule fires on a matching request:
	// 0 (or absent) means 1, else in (0, 1].
	Probability float64 `json:"probability,omitempty" yaml:"probability,omitempty"`
	// Times limits the rule to the next Times requests it fires on; 0 is
	// unlimited.
	Times int `json:"times,omitempty" yaml:"times,omitempty"`
	// Applied counts the requests the rule fired on. It is read-only: Add
	// ignores it.
	Applied int `json:"applied" yaml:"applied"`
}

// Validate checks a rule and names the field at fault. Its errors wrap
// ErrInvalidRule.
func (r Rule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidRule, field, fmt.Sprintf(format, args...))
	}
	if r.ID != strings.TrimSpace(r.ID) || strings.ContainsAny(r.ID, "/?#") {
		return bad("id", "%q must not have surrounding spaces or any of / ? #", r.ID)
	}
	if r.Match.Method != "" && !isToken(r.Match.Method) {
		return bad("match.method", "%q is not an HTTP method", r.Match.Method)
	}
	if r.Match.Path != "" {
		if err := validPattern(r.Match.Path); err != nil {
			return bad("match.path", "%v", err)
		}
	}
	if r.Probability < 0 || r.Probability > 1 || r.Probability != r.Probability {
		return bad("probability", "%v is outside (0, 1] (0 or absent means 1)", r.Probability)
	}
	if r.Times < 0 {
		return bad("times", "%d is negative (0 means unlimited)", r.Times)
	}
	e := r.Effect
	switch e.Kind {
	case KindLatency, KindError, KindReset, KindHang, KindTruncate:
	case "":
		return bad("effect.kind", "missing: want latency, error, reset, hang or truncate")
	default:
		return bad("effect.kind", "unknown kind %q: want latency, error, reset, hang or truncate", e.Kind)
	}
	if e.Kind == KindLatency && e.After {
		return bad("effect.after", "a latency effect delays the handler: it cannot come after it")
	}
	if e.Kind != KindLatency && e.Latency != nil {
		return bad("effect.latency", "only a latency effect has one, not %s", e.Kind)
	}
	if e.Kind != KindError {
		switch {
		case e.Status != 0:
			return bad("effect.status", "only an error effect has one, not %s", e.Kind)
		case len(e.Body) != 0:
			return bad("effect.body", "only an error effect has one, not %s", e.Kind)
		case len(e.Headers) != 0:
			return bad("effect.headers", "only an error effect has them, not %s", e.Kind)
		}
	}
	switch e.Kind {
	case KindLatency:
		if e.Latency == nil {
			return bad("effect.latency", "missing: a latency effect needs a distribution")
		}
		return e.Latency.validate(bad)
	case KindError:
		switch {
		case e.Status == 0:
			return bad("effect.status", "missing: an error effect needs a status")
		case e.Status < 100 || e.Status > 599:
			return bad("effect.status", "%d is outside 100-599", e.Status)
		case e.Status < 200:
			// net/http sends a 1xx as an interim response and then a 200.
			return bad("effect.status", "%d is informational: a 1xx cannot end a response", e.Status)
		}
		if len(e.Body) != 0 && !json.Valid(e.Body) {
			return bad("effect.body", "not valid JSON")
		}
		if len(e.Body) != 0 && (e.Status == http.StatusNoContent || e.Status == http.StatusNotModified) {
			return bad("effect.body", "a %d has no body", e.Status)
		}
		for _, k := range slices.Sorted(maps.Keys(e.Headers)) {
			if !isToken(k) {
				return bad("effect.headers", "%q is not a header name", k)
			}
			// The twin frames the body itself; these would break the response.
			if ck := http.CanonicalHeaderKey(k); ck == "Content-Length" || ck == "Transfer-Encoding" {
				return bad("effect.headers", "%s is set by the twin", ck)
			}
			if strings.ContainsAny(e.Headers[k], "\r\n\x00") {
				return bad("effect.headers", "the value of %s has a control character", k)
			}
		}
	}
	return nil
}

// MaxLatency is the longest latency a rule may draw or name: a longer wait
// is a hang, which has its own effect.
const MaxLatency = time.Hour

func (l *Latency) validate(bad func(field, format string, args ...any) error) error {
	set := map[string]Duration{"fixed": l.Fixed, "min": l.Min, "max": l.Max, "mean": l.Mean, "stdDev": l.StdDev}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k].D() > MaxLatency {
			return bad("effect.latency."+k, "%s is over %s (for longer, use a hang effect)", set[k], MaxLatency)
		}
	}
	var own []string
	switch l.Distribution {
	case DistFixed:
		own = []string{"fixed"}
		if l.Fixed <= 0 {
			return bad("effect.latency.fixed", "%s: a fixed latency must be above 0", l.Fixed)
		}
	case DistUniform:
		own = []string{"min", "max"}
		switch {
		case l.Min < 0:
			return bad("effect.latency.min", "%s is negative", l.Min)
		case l.Max <= 0:
			return bad("effect.latency.max", "%s: a uniform latency needs a max above 0", l.Max)
		case l.Max < l.Min:
			return bad("effect.latency.max", "%s is below min %s", l.Max, l.Min)
		}
	case DistNormal:
		own = []string{"mean", "stdDev"}
		switch {
		case l.Mean < 0:
			return bad("effect.latency.mean", "%s is negative", l.Mean)
		case l.StdDev < 0:
			return bad("effect.latency.stdDev", "%s is negative", l.StdDev)
		case l.Mean == 0 && l.StdDev == 0:
			return bad("effect.latency.mean", "a normal latency needs a mean or a stdDev above 0")
		}
	case "":
		return bad("effect.latency.distribution", "missing: want fixed, uniform or normal")
	default:
		return bad("effect.latency.distribution", "unknown distribution %q: want fixed, uniform or normal", l.Distribution)
	}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if set[k] != 0 && !slices.Contains(own, k) {
			return bad("effect.latency."+k, "a %s latency does not use it", l.Distribution)
		}
	}
	return nil
}

// validPattern checks a path pattern: it starts with /, and "*" and "**"
// stand alone as segments, "**" last.
func validPattern(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must start with /", p)
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		switch {
		case s == "**" && i != len(segs)-1:
			return fmt.Errorf("%q: ** must be the last segment", p)
		case s != "*" && s != "**" && strings.Contains(s, "*"):
			return fmt.Errorf("%q: * and ** must be whole segments", p)
		}
	}
	return nil
}

// matchPath tells whether the request path matches the pattern.
func matchPath(pattern, path string) bool {
	if pattern == path {
		return true
	}
	if !strings.HasPrefix(path, "/") {
		return false
	}
	pat := strings.Split(pattern[1:], "/")
	segs := strings.Split(path[1:], "/")
	for i, p := range pat {
		if p == "**" {
			return true
		}
		if i >= len(segs) {
			return false
		}
		if p == "*" {
			if segs[i] == "" {
				return false
			}
			continue
		}
		if p != segs[i] {
			return false
		}
	}
	return len(pat) == len(segs)
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// defaultBody is the body of an error effect that sets none.
func defaultBody(status int) []byte {
	body, _ := json.Marshal(struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
		Error      string `json:"error"`
	}{status, "Injected fault", http.StatusText(status)})
	return body
}

func (r Rule) clone() Rule {
	if r.Effect.Latency != nil {
		l := *r.Effect.Latency
		r.Effect.Latency = &l
	}
	r.Effect.Body = slices.Clone(r.Effect.Body)
	r.Effect.Headers = maps.Clone(r.Effect.Headers)
	return r
}
