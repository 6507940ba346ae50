package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// stateScanner reads a state's JSON as DecodeStateThen needs it: the
// top-level object's names, and each value as raw text, found by its
// structure alone (its strings and brackets), not parsed. A record's text
// is parsed once, by the decoder that decodes it, which also tells whether
// it is valid JSON (syntaxError); the scanner checks what lies between the
// values. A jsontext.Decoder parsed each record before its decoder parsed
// it again: at 100,000 contacts with 400,000 tasks and notes, a sixth of
// the twin's start-up CPU, on the one reading goroutine. Finding a record's
// end by its structure costs about a third of that (decoding a state, 10%
// fewer instructions in all).
type stateScanner struct {
	r   io.Reader
	buf []byte // buf[pos:] is read and not yet scanned
	pos int
	off int64 // the stream's offset of buf[0]
	err error // the reader's error, once it has one (io.EOF at the end)
}

// scanBufSize is the scanner's first buffer: it grows to hold the largest
// value it is given whole.
const scanBufSize = 64 << 10

func newStateScanner(r io.Reader) *stateScanner {
	return &stateScanner{r: r, buf: make([]byte, 0, scanBufSize)}
}

// fill reads more of the stream, keeping buf[keep:], and reports whether it
// got any; keep moves to 0 (callers rebase the indexes they hold into buf
// by the returned shift).
func (s *stateScanner) fill(keep int) (shift int, ok bool) {
	if s.err != nil {
		return 0, false
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:])
		s.buf = s.buf[:n]
		s.off += int64(keep)
		s.pos -= keep
		shift = keep
	}
	if len(s.buf) == cap(s.buf) {
		s.buf = append(s.buf, make([]byte, cap(s.buf))...)[:len(s.buf)]
	}
	for {
		n, err := s.r.Read(s.buf[len(s.buf):cap(s.buf)])
		s.buf = s.buf[:len(s.buf)+n]
		if err != nil {
			s.err = err
		}
		if n > 0 || err != nil {
			return shift, n > 0
		}
	}
}

// readErr is the error for a stream that ended (or failed) where more was
// due.
func (s *stateScanner) readErr() error {
	if s.err == nil || errors.Is(s.err, io.EOF) {
		return fmt.Errorf("store: decode state: at offset %d: %w", s.off+int64(s.pos), io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("store: decode state: %w", s.err)
}

// peek skips whitespace and returns the next byte, unread.
func (s *stateScanner) peek() (byte, error) {
	for {
		for ; s.pos < len(s.buf); s.pos++ {
			switch c := s.buf[s.pos]; c {
			case ' ', '\t', '\n', '\r':
			default:
				return c, nil
			}
		}
		if _, ok := s.fill(s.pos); !ok {
			return 0, s.readErr()
		}
	}
}

// expect reads the byte c, after whitespace.
func (s *stateScanner) expect(c byte, what string) error {
	got, err := s.peek()
	if err != nil {
		return err
	}
	if got != c {
		return s.unexpected(got, what)
	}
	s.pos++
	return nil
}

// unexpected is the error for the byte got where what was due.
func (s *stateScanner) unexpected(got byte, what string) error {
	return fmt.Errorf("store: decode state: at offset %d: want %s, got %q", s.off+int64(s.pos), what, got)
}

// next reads, after whitespace, the byte that ends a member or an element
// (a comma, or close) and reports whether it was close.
func (s *stateScanner) next(close byte) (closed bool, err error) {
	c, err := s.peek()
	if err != nil {
		return false, err
	}
	switch c {
	case ',':
		s.pos++
		return false, nil
	case close:
		s.pos++
		return true, nil
	}
	return false, s.unexpected(c, fmt.Sprintf("',' or '%c'", close))
}

// value returns the text of the next value, after whitespace, found by its
// structure: valid JSON is the value, and what is not is text that does not
// parse (syntaxError says why). The text is the scanner's until its next
// call.
func (s *stateScanner) value() ([]byte, error) {
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	switch c {
	case '{', '[', '"', '-', 't', 'f', 'n', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
	default:
		return nil, s.unexpected(c, "a value")
	}
	start, i := s.pos, s.pos
	depth, inString := 0, false
	for {
		end, done := scanValue(s.buf, i, &depth, &inString)
		if done {
			s.pos = end
			return s.buf[start:end], nil
		}
		shift, ok := s.fill(start)
		start, i = start-shift, end-shift
		if !ok {
			if !inString && depth == 0 { // a number or literal at the end of the stream
				s.pos = len(s.buf)
				return s.buf[start:], nil
			}
			return nil, s.readErr()
		}
	}
}

// scanValue scans buf from i for the end of the value that began before
// it, given the depth of brackets and whether i is in a string, which it
// updates: it returns the end and true once the value is whole, or len(buf)
// and false when buf ends first (a string ends in its closing quote, a
// bracket at depth 0 in its closing bracket, a number or a literal at the
// first byte that cannot continue it).
func scanValue(buf []byte, i int, depth *int, inString *bool) (int, bool) {
	for i < len(buf) {
		if *inString {
			j := bytes.IndexByte(buf[i:], '"')
			if j < 0 {
				return len(buf), false
			}
			i += j
			if escaped(buf, i) {
				i++
				continue
			}
			*inString = false
			i++
			if *depth == 0 {
				return i, true
			}
			continue
		}
		switch buf[i] {
		case '"':
			*inString = true
		case '{', '[':
			*depth++
		case '}', ']':
			if *depth == 0 { // ends a number or literal
				return i, true
			}
			if *depth--; *depth == 0 {
				return i + 1, true
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if *depth == 0 {
				return i, true
			}
		}
		i++
	}
	return len(buf), false
}

// escaped reports whether the quote at buf[i], in a string, is escaped: an
// odd run of backslashes comes before it (the string's opening quote ends
// the run).
func escaped(buf []byte, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && buf[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// name reads the name of the next member of an object and its colon.
func (s *stateScanner) name() (string, error) {
	c, err := s.peek()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", s.unexpected(c, "a name")
	}
	raw, err := s.value()
	if err != nil {
		return "", err
	}
	var name string
	if plainName(raw) {
		name = string(raw[1 : len(raw)-1])
	} else if err := jsonv2.Unmarshal(raw, &name, jsontext.AllowInvalidUTF8(true)); err != nil {
		return "", fmt.Errorf("store: decode state: name %s: %w", raw, err)
	}
	return name, s.expect(':', "':'")
}

// plainName reports whether raw, a string's text, holds printable ASCII
// alone, without escapes: its name is its text between the quotes.
func plainName(raw []byte) bool {
	for _, c := range raw[1 : len(raw)-1] {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// syntaxError says why raw, a value's text as the scanner found it, is not
// valid JSON (nil when it is): names given twice and invalid UTF-8 are
// taken, as a record with them is a problem of its own, not malformed JSON.
func syntaxError(raw []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(raw), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if _, err := dec.ReadValue(); err != nil {
		return err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("more than one value: %w", err)
	}
	return nil
}
