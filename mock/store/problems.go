package store

import (
	"fmt"
	"strings"
)

// MaxProblems is how many problems an ImportError lists; it counts the rest.
const MaxProblems = 50

// maxReason bounds the length of a problem's reason, which may quote what a
// check said of the record.
const maxReason = 200

// Problem is one thing wrong with a state that is imported or restored.
type Problem struct {
	Table string `json:"table"` // "contacts", "m360Tasks", ...
	// Index is the record's place in its table as sent, from 0; -1 for a
	// problem of the whole table.
	Index int `json:"index"`
	// ID is the record's id as sent ("" when it has none or it did not decode).
	ID string `json:"id,omitempty"`
	// Field is the field at fault ("" for the record as a whole).
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Table)
	if p.Index >= 0 {
		fmt.Fprintf(&b, "[%d]", p.Index)
	}
	if p.Field != "" {
		b.WriteString("." + p.Field)
	}
	b.WriteString(" " + p.Reason)
	return b.String()
}

// ImportError refuses a state as a whole: the first MaxProblems things wrong
// with it, in the order found, and how many more there are.
type ImportError struct {
	Problems []Problem
	More     int
}

func (e *ImportError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	msg := "store: invalid state: " + strings.Join(lines, "; ")
	if e.More > 0 {
		msg += fmt.Sprintf(" (and %d more)", e.More)
	}
	return msg
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ImportError) Unwrap() error { return ErrInvalid }

// problems collects what is wrong with a state, keeping the first
// MaxProblems.
type problems struct {
	list []Problem
	more int
}

// add records a problem of table's record i (id as sent, field at fault).
func (p *problems) add(table string, i int, id, field, reason string) {
	if len(p.list) == MaxProblems {
		p.more++
		return
	}
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	p.list = append(p.list, Problem{Table: table, Index: i, ID: id, Field: field, Reason: reason})
}

// merge adds q's problems after p's, as if each had been added to p.
func (p *problems) merge(q *problems) {
	for _, pr := range q.list {
		if len(p.list) == MaxProblems {
			p.more++
			continue
		}
		p.list = append(p.list, pr)
	}
	p.more += q.more
}

// err is the *ImportError of the problems, nil when there are none.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ImportError{Problems: p.list, More: p.more}
}
