package webhooks_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/webhooks"
)

// BenchmarkDispatcher_Deliver measures delivery throughput: b.N messages,
// each about its own resource, signed and posted to a loopback receiver
// that answers at once; the timer stops when the last one is delivered. The
// baseline posts the same bodies with a plain http.Client, as many at once
// as the dispatcher has workers.
func BenchmarkDispatcher_Deliver(b *testing.B) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(rcv.Close)
	body := []byte(`{"type":"ContactCreate","locationId":"ve9EPM428h8vShlRW1KT","id":"nmFmQEsNgz6AVpgLVUJ0","email":"ada@example.com","tags":["vip"]}`)

	b.Run("baseline", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		var n atomic.Int64
		b.SetParallelism(2) // 4 goroutines on 2 CPUs, as the dispatcher's 4 workers
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Add(1)
				resp, err := client.Post(rcv.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
	b.Run("dispatcher", func(b *testing.B) {
		var delivered atomic.Int64
		done := make(chan struct{})
		target := int64(b.N)
		d, err := webhooks.New(webhooks.Options{Logger: slog.New(slog.DiscardHandler), Observe: func(d webhooks.Delivery) {
			if d.Status == webhooks.StatusDelivered && delivered.Add(1) == target {
				close(done)
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = d.Close(b.Context()) })
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, err := d.Send(webhooks.Message{Twin: "highlevel", Event: "ContactCreate", Signer: d.Keys(),
				EventID: fmt.Sprint(i), Subscription: "app", Target: rcv.URL, Resource: fmt.Sprint("contact/", i),
				At: time.Now(), Body: body}); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-done:
		case <-time.After(time.Minute):
			b.Fatalf("%d of %d delivered in a minute", delivered.Load(), b.N)
		}
	})
}
