package receiver

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature headers.
const (
	// HeaderGHL is HighLevel's base64 Ed25519 signature of the raw body.
	HeaderGHL = "X-Ghl-Signature"
	// HeaderWH is HighLevel's legacy base64 RSA-SHA256 (PKCS#1 v1.5)
	// signature of the raw body.
	HeaderWH = "X-Wh-Signature"
	// HeaderM360 is Marketing 360's "t=<epoch seconds>,v1=<hex
	// HMAC-SHA256(secret, t + "." + body)>".
	HeaderM360 = "X-M360-Signature"
)

// errSignature: a missing, malformed, wrong or stale signature.
var errSignature = errors.New("receiver: bad signature")

// ParsePublicKey reads a PEM public key (SubjectPublicKeyInfo, "PUBLIC
// KEY"), as HighLevel publishes its webhook keys: an ed25519.PublicKey or an
// *rsa.PublicKey.
func ParsePublicKey(pemText string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("receiver: public key: no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("receiver: public key: %w", err)
	}
	switch key.(type) {
	case ed25519.PublicKey, *rsa.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("receiver: public key: a %T, want Ed25519 or RSA", key)
}

// verifyHighLevel accepts a body whose x-ghl-signature verifies with the
// Ed25519 key, or, when an RSA key is set, whose x-wh-signature verifies
// with it.
func verifyHighLevel(h http.Header, body []byte, edKey ed25519.PublicKey, rsaKey *rsa.PublicKey) error {
	if sig, err := base64.StdEncoding.DecodeString(h.Get(HeaderGHL)); err == nil && len(sig) == ed25519.SignatureSize &&
		ed25519.Verify(edKey, body, sig) {
		return nil
	}
	if rsaKey != nil {
		sig, err := base64.StdEncoding.DecodeString(h.Get(HeaderWH))
		sum := sha256.Sum256(body)
		if err == nil && len(sig) > 0 && rsa.VerifyPKCS1v15(rsaKey, crypto.SHA256, sum[:], sig) == nil {
			return nil
		}
	}
	switch {
	case h.Get(HeaderGHL) == "" && (rsaKey == nil || h.Get(HeaderWH) == ""):
		return fmt.Errorf("%w: no signature", errSignature)
	default:
		return fmt.Errorf("%w: the signature does not verify", errSignature)
	}
}

// m360Signature is a parsed X-M360-Signature.
type m360Signature struct {
	t  int64
	v1 [][]byte
}

// parseM360Signature reads "t=<epoch>,v1=<hex>[,v1=<hex>…]"; other keys
// are ignored.
func parseM360Signature(header string) (m360Signature, error) {
	var s m360Signature
	hasT := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return m360Signature{}, fmt.Errorf("%w: %q is not key=value", errSignature, part)
		}
		switch k {
		case "t":
			t, err := strconv.ParseInt(v, 10, 64)
			if err != nil || hasT {
				return m360Signature{}, fmt.Errorf("%w: bad or repeated t", errSignature)
			}
			s.t, hasT = t, true
		case "v1":
			mac, err := hex.DecodeString(v)
			if err != nil || len(mac) != sha256.Size {
				return m360Signature{}, fmt.Errorf("%w: v1 is not a hex SHA-256", errSignature)
			}
			s.v1 = append(s.v1, mac)
		}
	}
	if !hasT || len(s.v1) == 0 {
		return m360Signature{}, fmt.Errorf("%w: want t and v1", errSignature)
	}
	return s, nil
}

// verifyM360 accepts a body signed with one of the secrets at a time within
// tolerance of now (either way: a signature older than that is a replay).
func verifyM360(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	if header == "" {
		return fmt.Errorf("%w: no signature", errSignature)
	}
	sig, err := parseM360Signature(header)
	if err != nil {
		return err
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(strconv.FormatInt(sig.t, 10) + "."))
		mac.Write(body)
		want := mac.Sum(nil)
		for _, got := range sig.v1 {
			if hmac.Equal(got, want) {
				if d := now.Sub(time.Unix(sig.t, 0)); d > tolerance || d < -tolerance {
					return fmt.Errorf("%w: signed at %d, %s from now (tolerance %s)", errSignature, sig.t, d.Round(time.Second), tolerance)
				}
				return nil
			}
		}
	}
	return fmt.Errorf("%w: the signature does not verify", errSignature)
}
