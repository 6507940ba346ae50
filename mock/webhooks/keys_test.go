package webhooks_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/contactbridge/contactbridge/mock/clock"
	"github.com/contactbridge/contactbridge/mock/webhooks"
)

func TestKeys_SeededKeysAreReproducible(t *testing.T) {
	t.Parallel()
	a, _ := webhooks.GenerateKeys(42, false)
	b, _ := webhooks.GenerateKeys(42, false)
	c, _ := webhooks.GenerateKeys(43, false)
	r1, _ := webhooks.GenerateKeys(0, false)
	r2, _ := webhooks.GenerateKeys(0, false)
	if a.Public().Ed25519 != b.Public().Ed25519 || a.Public().Ed25519 == c.Public().Ed25519 {
		t.Error("seeded Ed25519 keys: the same seed must give the same key, another seed another")
	}
	if r1.Public().Ed25519 == r2.Public().Ed25519 {
		t.Error("unseeded keys repeat")
	}
	if a.Public().RSA != "" || !strings.HasPrefix(a.Public().Ed25519, "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("public keys %+v", a.Public())
	}
}

func TestKeys_LoadOrCreateKeepsTheKeysAcrossStarts(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keys.pem")
	first, err := webhooks.LoadOrCreateKeys(path, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	again, err := webhooks.LoadOrCreateKeys(path, 0, false)
	if err != nil || again.Public() != first.Public() {
		t.Fatalf("reloaded keys differ: %v", err)
	}
	// Asking for RSA adds a key to the file, keeping the Ed25519 one.
	withRSA, err := webhooks.LoadOrCreateKeys(path, 0, true)
	if err != nil || withRSA.Public().Ed25519 != first.Public().Ed25519 || withRSA.RSA == nil {
		t.Fatalf("RSA added: %v", err)
	}
	reread, err := webhooks.LoadOrCreateKeys(path, 0, false)
	if err != nil || reread.Public() != withRSA.Public() {
		t.Fatalf("a file with an RSA key signs with it: %v", err)
	}
	// A key file found readable by others is written back for its owner only.
	loose := filepath.Join(t.TempDir(), "loose.pem")
	first.Save(loose)
	os.Chmod(loose, 0o644)
	if _, err := webhooks.LoadOrCreateKeys(loose, 0, true); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(loose); info.Mode().Perm() != 0o600 {
		t.Errorf("rewritten key file mode %v, want 0600", info.Mode().Perm())
	}
	for name, content := range map[string]string{
		"garbage": "not pem", "certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		bad := filepath.Join(t.TempDir(), name+".pem")
		os.WriteFile(bad, []byte(content), 0o600)
		if _, err := webhooks.LoadOrCreateKeys(bad, 0, false); err == nil {
			t.Errorf("%s key file loaded", name)
		}
	}
}

func TestDispatcher_SignsWithRSAWhenItHasAKey(t *testing.T) {
	t.Parallel()
	keys, err := webhooks.GenerateKeys(1, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t)
	e := newEnv(t, webhooks.Options{Keys: keys})
	m := msg(rcv.srv.URL, "contact/a", "ContactCreate", 1)
	m.Signer = keys
	e.d.Send(m)
	got := rcv.next(t)
	block, _ := pem.Decode([]byte(keys.Public().RSA))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(got.header.Get("x-wh-signature"))
	sum := sha256.Sum256(got.body)
	if err := rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Errorf("x-wh-signature: %v", err)
	}
	if got.header.Get("x-ghl-signature") == "" {
		t.Error("no x-ghl-signature beside the RSA one")
	}
}

func TestSignHMAC_IsHMACOfTimeAndBody(t *testing.T) {
	t.Parallel()
	at := time.Unix(1767225600, 0)
	body := []byte(`{"id":"evt_1"}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write([]byte("1767225600." + string(body)))
	want := "t=1767225600,v1=" + hex.EncodeToString(mac.Sum(nil))
	if got := webhooks.SignHMAC("s3cret", body, at); got != want {
		t.Errorf("SignHMAC = %s, want %s", got, want)
	}
	if webhooks.SignHMAC("s3cret", []byte(`{"id":"evt_2"}`), at) == want {
		t.Error("another body signs the same")
	}
}

func TestSettings_Validate(t *testing.T) {
	t.Parallel()
	d := func(v time.Duration) clock.Duration { return clock.Duration(v) }
	for _, tc := range []struct {
		name  string
		edit  func(*webhooks.Settings)
		field string
	}{
		{"defaults", func(*webhooks.Settings) {}, ""},
		{"no attempts", func(s *webhooks.Settings) { s.Attempts = 0 }, "attempts"},
		{"too many attempts", func(s *webhooks.Settings) { s.Attempts = 101 }, "attempts"},
		{"zero timeout", func(s *webhooks.Settings) { s.Timeout = 0 }, "timeout"},
		{"long timeout", func(s *webhooks.Settings) { s.Timeout = d(6 * time.Minute) }, "timeout"},
		{"max under backoff", func(s *webhooks.Settings) { s.MaxBackoff = d(time.Millisecond) }, "maxBackoff"},
		{"negative delay", func(s *webhooks.Settings) { s.Delay = d(-time.Second) }, "delay"},
		{"duplicates over 1", func(s *webhooks.Settings) { s.Duplicates = 1.5 }, "duplicates"},
	} {
		s := webhooks.DefaultSettings()
		tc.edit(&s)
		err := s.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (!errors.Is(err, webhooks.ErrInvalidSettings) || !strings.Contains(err.Error(), tc.field)):
			t.Errorf("%s: got %v, want an error naming %s", tc.name, err, tc.field)
		}
	}
	if s := (webhooks.Settings{Duplicates: 0.5}).WithDefaults(); s.Attempts != 5 || s.Duplicates != 0.5 || s.Validate() != nil {
		t.Errorf("WithDefaults: %+v", s)
	}
	if _, err := webhooks.New(webhooks.Options{Settings: webhooks.Settings{Attempts: -1}}); err == nil {
		t.Error("New took invalid settings")
	}
}
