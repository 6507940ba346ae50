package receiver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"testing"
	"time"
)

// checkEvent holds what every parsed event promises: an id, a tenant and
// a type, and for a known type the record it is about.
func checkEvent(t *testing.T, e event, err error) {
	if err != nil {
		return
	}
	if e.ID == "" || e.Tenant == "" || e.Type == "" {
		t.Fatalf("parsed without id, tenant or type: %+v", e)
	}
	if e.known() && e.EntityID == "" {
		t.Fatalf("known event without the record's id: %+v", e)
	}
}

// The seed corpus is in testdata/fuzz/<target>/.

func FuzzParseHighLevel(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := parseHighLevel(body)
		checkEvent(t, e, err)
	})
}

func FuzzParseM360(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := parseM360(body)
		checkEvent(t, e, err)
	})
}

// FuzzVerifyM360 checks that no header breaks the parser, and that a body
// signed at any time within the tolerance verifies, one byte changed not.
func FuzzVerifyM360(f *testing.F) {
	now := time.Unix(1772443800, 0)
	f.Fuzz(func(t *testing.T, header string, body []byte, offset int64) {
		_ = verifyM360(header, body, []string{"s"}, now, time.Minute)
		at := now.Unix() + offset%60
		mac := hmac.New(sha256.New, []byte("s"))
		mac.Write([]byte(strconv.FormatInt(at, 10) + "."))
		mac.Write(body)
		good := "t=" + strconv.FormatInt(at, 10) + ",v1=" + hex.EncodeToString(mac.Sum(nil))
		if err := verifyM360(good, body, []string{"s"}, now, time.Minute); err != nil {
			t.Fatalf("a good signature %q of %q: %v", good, body, err)
		}
		if err := verifyM360(good, slices.Concat(body, []byte("x")), []string{"s"}, now, time.Minute); err == nil {
			t.Fatalf("a signature verifies a changed body")
		}
	})
}
