package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fuzzRecords are the seeds of FuzzStrictDecode: records as the store
// exports them, and records each decoder may read otherwise.
var fuzzRecords = []string{
	`{"id":"c1","locationId":"L1","firstName":"Ann","email":"ann@example.com","dnd":false,"dndSettings":{"Email":{"status":"active"}},"tags":["a","b"],"customFields":[{"id":"f","value":"1"}],"dateOfBirth":"1990-01-02T00:00:00Z","dateAdded":"2025-01-01T00:00:00Z","dateUpdated":"2025-01-01T00:00:00.123+02:00"}`,
	`{"id":"t1","contactId":"c1","title":"Call","dueDate":"2025-01-03T10:00:00Z","completed":true,"dateAdded":"2025-01-01T00:00:00Z"}`,
	`{"id":"n1","contactId":"c1","body":"Hello \u00e9\ud83d\ude00","pinned":false,"dateAdded":"2025-01-01T00:00:00Z"}`,
	`{"id":1,"accountId":2,"firstName":"Bo","email":"bo@example.com","createdAt":"2025-01-01T00:00:00Z"}`,
	`{"ID":"c1","locationid":"L1"}`,
	`{"id":"c1","id":"c2"}`,
	`{"id":"c1","unknown":{"a":[[[[1]]]]}}`,
	`{"id":"c1","dateAdded":"2025-13-01T00:00:00Z"}`,
	`{"id":"c1","tags":null,"dateAdded":null,"dnd":null}`,
	`{"id":"c1","dnd":"yes"}`,
	"{\"id\":\"c\xff\"}",
	`{"id":1e2}`,
	`{"id":1.5}`,
	`{"id":"c1","dndSettings":{"Email":{"status":"a"},"Email":{"status":"b"}}}`,
	`[]`,
	`null`,
}

// FuzzStrictDecode holds strictDecode to its promise: a record it decodes,
// guardedDecode (the checks of a request body) decodes too, to the same
// value, for each type of record a state holds.
func FuzzStrictDecode(f *testing.F) {
	for _, r := range fuzzRecords {
		f.Add([]byte(r))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameDecoding[Contact](t, raw)
		sameDecoding[Task](t, raw)
		sameDecoding[Note](t, raw)
		sameDecoding[Appointment](t, raw)
		sameDecoding[Location](t, raw)
		sameDecoding[Webhook](t, raw)
		sameDecoding[M360Contact](t, raw)
		sameDecoding[M360Task](t, raw)
		sameDecoding[M360Event](t, raw)
	})
}

func sameDecoding[T any](t *testing.T, raw []byte) {
	t.Helper()
	var strict, guarded T
	if strictDecode(raw, &strict) != nil {
		return
	}
	if err := guardedDecode(raw, &guarded); err != nil {
		t.Fatalf("%T: strict decoding took %q, the guarded one refused it: %v", strict, raw, err)
	}
	a, errA := json.Marshal(strict)
	b, errB := json.Marshal(guarded)
	if errA != nil || errB != nil || string(a) != string(b) {
		t.Fatalf("%T: %q decodes to\n%s (strict)\n%s (guarded)", strict, raw, a, b)
	}
}

// TestDecodeRecord proves that a record as the store exports it takes the
// strict pass, and that one the strict pass refuses is still read, or
// refused, as the guarded decoding says.
func TestDecodeRecord(t *testing.T) {
	dob := time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC)
	full := Contact{ID: "c1", LocationID: "L1", FirstName: "Ann", Email: "ann@example.com",
		DNDSettings: map[string]DNDSetting{"Email": {Status: "active"}}, Tags: []string{"a"},
		CustomFields: []CustomFieldValue{{ID: "f", Value: "1"}}, Followers: []string{"u"}, DateOfBirth: &dob,
		DateAdded: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), DateUpdated: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)}
	takesStrict(t, full)
	takesStrict(t, Task{ID: "t", ContactID: "c1", DueDate: full.DateAdded})
	takesStrict(t, Note{ID: "n", ContactID: "c1", Body: "b"})
	takesStrict(t, M360Contact{ID: 1, AccountID: 2, Email: "bo@example.com"})
	var c Contact
	// Unknown keys are ignored, as a request body's are.
	if err := decodeRecord([]byte(`{"id":"c1","extra":{"x":1},"dateAdded":"2025-01-01T00:00:00Z"}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.ID != "c1" || !c.DateAdded.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("decoded %+v", c)
	}
	// A key twice: the last wins, as in encoding/json.
	c = Contact{}
	if err := decodeRecord([]byte(`{"id":"c1","id":"c2"}`), &c); err != nil || c.ID != "c2" {
		t.Errorf("decoded %q, %v", c.ID, err)
	}
	for _, raw := range []string{`{"ID":"c1"}`, "{\"id\":\"c\xff\"}", `{"id":"c1","dnd":"yes"}`} {
		c = Contact{}
		if err := decodeRecord([]byte(raw), &c); err == nil {
			t.Errorf("%q decoded to %+v, want an error", raw, c)
		}
	}
}

// takesStrict checks that rec, encoded as the store exports it, takes the
// strict pass, to the value the guarded decoding gives.
func takesStrict[T any](t *testing.T, rec T) {
	t.Helper()
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var v T
	if err := strictDecode(raw, &v); err != nil {
		t.Errorf("%T as exported: the strict pass refused it: %v", rec, err)
	}
	sameDecoding[T](t, raw)
}

// TestDecodeStatePipeline proves the hand-over of decodeTable: many
// batches of records decode in order, a malformed record ends the table
// with an error, and a check's panic reaches the caller's goroutine (where
// the pipeline's recovery sees it) instead of killing the process.
func TestDecodeStatePipeline(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"locations":[{"id":"L1","name":"One"}],"tasks":[],"notes":[],"appointments":[],"contacts":[`)
	n := 3*recordsPerBatch + 7
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"c%05d","locationId":"L1","dateAdded":"2025-01-01T00:00:00Z"}`, i)
	}
	b.WriteString(`]}`)
	st, err := DecodeState(strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Contacts) != n {
		t.Fatalf("%d contacts, want %d", len(st.Contacts), n)
	}
	for i, c := range st.Contacts {
		if want := fmt.Sprintf("c%05d", i); c.ID != want {
			t.Fatalf("contact %d is %s, want %s", i, c.ID, want)
		}
	}

	broken := strings.Replace(b.String(), `{"id":"c00600"`, `{"id":"c00600",,`, 1)
	if _, err := DecodeState(strings.NewReader(broken), nil); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("malformed record: %v, want a JSON error", err)
	}

	calls := 0
	check := func(table string, _ json.RawMessage) error {
		if calls++; calls == recordsPerBatch+3 {
			panic("check broke")
		}
		return nil
	}
	defer func() {
		if p := recover(); p != "check broke" {
			t.Errorf("recovered %v, want the check's panic", p)
		}
	}()
	_, _ = DecodeState(strings.NewReader(b.String()), check)
	t.Error("the check's panic did not reach the caller")
}

// A table of many batches (recordsPerBatch), decoded by several decoders,
// decodes in its order, its problems named by their place as sent, and a
// table named twice adds its second run to the first.
func TestDecodeStateLargeTableInOrder(t *testing.T) {
	const n = 40*recordsPerBatch + 17
	var b strings.Builder
	b.WriteString(`{"locations":[],"contacts":[],"notes":[],"appointments":[],"tasks":[`)
	var bad []int
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if i%1000 == 999 { // no contactId: a problem, not kept
			fmt.Fprintf(&b, `{"id":"t%d","title":"x","dateAdded":"2025-01-01T00:00:00Z"}`, i)
			bad = append(bad, i)
			continue
		}
		fmt.Fprintf(&b, `{"id":"t%d","contactId":"c1","title":"x","dateAdded":"2025-01-01T00:00:00Z"}`, i)
	}
	b.WriteString(`],"tasks":[{"id":"last","contactId":"c1","title":"x","dateAdded":"2025-01-01T00:00:00Z"}]}`)
	st, err := DecodeState(strings.NewReader(b.String()), nil)
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("DecodeState = %v, want an ImportError", err)
	}
	if len(ie.Problems) != len(bad) {
		t.Fatalf("%d problems, want %d: %v", len(ie.Problems), len(bad), err)
	}
	for k, p := range ie.Problems {
		if p.Table != "tasks" || p.Index != bad[k] || p.Field != "contactId" {
			t.Errorf("problem %d: %+v, want tasks[%d].contactId", k, p, bad[k])
		}
	}
	if want := n - len(bad) + 1; len(st.Tasks) != want {
		t.Fatalf("%d tasks, want %d", len(st.Tasks), want)
	}
	i := 0
	for _, task := range st.Tasks[:len(st.Tasks)-1] {
		if i%1000 == 999 {
			i++
		}
		if want := fmt.Sprintf("t%d", i); task.ID != want {
			t.Fatalf("task %q where %q was due", task.ID, want)
		}
		i++
	}
	if last := st.Tasks[len(st.Tasks)-1]; last.ID != "last" {
		t.Errorf("the second tasks run decoded as %q", last.ID)
	}
}
