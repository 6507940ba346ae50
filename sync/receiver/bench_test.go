package receiver_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/contactbridge/contactbridge/sync/receiver"
)

// BenchmarkReceiver_HighLevel measures a signed delivery from request to
// answer, in process: verify, parse, store the inbox row and enqueue the
// job in one synchronous (fsynced) transaction. Each delivery is a new
// event about a new contact.
func BenchmarkReceiver_HighLevel(b *testing.B) {
	e := newEnv(b, nil)
	h := e.rcv.HighLevel()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := hlBody("ContactCreate", fmt.Sprint("wh-", i), fmt.Sprint("c", i))
		req := httptest.NewRequest("POST", receiver.PathHighLevel, bytes.NewReader(body))
		for k, v := range e.signHL(body) {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("delivery %d: %d %s", i, w.Code, w.Body)
		}
	}
}
