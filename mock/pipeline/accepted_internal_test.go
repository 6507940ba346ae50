package pipeline

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// Each kind of verdict is bounded, and apart: parameters' verdicts beyond
// the bound (a PUT to each of many contacts) keep the whole verdicts (the
// reads').
func TestAcceptedMemo_IsBounded(t *testing.T) {
	t.Parallel()
	m := newAcceptedMemo()
	read := string(wholeVerdict) + "read"
	m.accept([]byte(read))
	for i := range maxAccepted + 1 {
		m.accept([]byte(string(paramsVerdict) + strconv.Itoa(i)))
	}
	last := string(paramsVerdict) + strconv.Itoa(maxAccepted)
	if n := len(m.seen[1]); n > maxAccepted || !m.accepted([]byte(last)) {
		t.Errorf("%d parameters' verdicts remembered (at most %d), the last one among them: %v", n, maxAccepted, m.accepted([]byte(last)))
	}
	if !m.accepted([]byte(read)) {
		t.Error("the parameters' verdicts wiped a whole verdict")
	}
	for i := range maxAccepted + 1 {
		m.accept([]byte(string(wholeVerdict) + strconv.Itoa(i)))
	}
	if n := len(m.seen[0]); n > maxAccepted {
		t.Errorf("%d whole verdicts remembered (at most %d)", n, maxAccepted)
	}
}

// The verdict on a request's parameters alone and the whole verdict on a
// bodiless request are remembered apart: neither stands for the other, and
// only a bodiless operation's whole verdict is remembered.
func TestAcceptedMemo_KindsOfVerdictApart(t *testing.T) {
	t.Parallel()
	m := newAcceptedMemo()
	item := &openapi3.PathItem{}
	m.prepare("get", item, &openapi3.Operation{})
	m.prepare("post", item, &openapi3.Operation{RequestBody: &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{}}})
	get := httptest.NewRequest("GET", "/items/1?x=2", nil)
	whole, ok := m.key(nil, "get", get)
	if !ok {
		t.Fatal("a bodiless request's whole verdict is not remembered")
	}
	params, ok := m.paramsKey(nil, "get", get)
	if !ok || string(params) == string(whole) {
		t.Fatalf("the parameters' key %q (remembered: %v), the whole verdict's %q: want two keys", params, ok, whole)
	}
	m.accept(params)
	if m.accepted(whole) {
		t.Error("accepted parameters stand for the whole verdict")
	}
	post := httptest.NewRequest("POST", "/items/1?x=2", strings.NewReader("{}"))
	if _, ok := m.key(nil, "post", post); ok {
		t.Error("the whole verdict on a request with a body is remembered")
	}
	if _, ok := m.paramsKey(nil, "post", post); !ok {
		t.Error("the verdict on the parameters of a request with a body is not remembered")
	}
}
