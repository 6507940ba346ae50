package webhooks

import (
	"crypto"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Signature headers.
const (
	// HeaderGHL carries the base64 Ed25519 signature Keys make.
	HeaderGHL = "X-Ghl-Signature"
	// HeaderWH carries the base64 RSA-SHA256 (PKCS#1 v1.5) signature Keys
	// with an RSA key make, the legacy scheme.
	HeaderWH = "X-Wh-Signature"
)

// A Signer signs a message's attempts: it sets the signature headers of
// body, sent at at. Keys and HMAC are the two schemes.
type Signer interface {
	Sign(h http.Header, body []byte, at time.Time) error
}

// rsaBits is the size of RSA keys the twin makes; a key file may hold any
// size (the live API's key has 4096 bits).
const rsaBits = 2048

// Keys sign HighLevel deliveries: with Ed25519 always, and with RSA too
// when there is an RSA key.
type Keys struct {
	Ed25519 ed25519.PrivateKey
	RSA     *rsa.PrivateKey // nil: no x-wh-signature
}

// GenerateKeys makes an Ed25519 key, derived from seed when it is not 0 (the
// same seed, the same key), and, when withRSA, an RSA key (always random).
func GenerateKeys(seed uint64, withRSA bool) (*Keys, error) {
	k := &Keys{}
	if seed != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], seed)
		sum := sha256.Sum256(append([]byte("contactbridge webhooks ed25519 "), b[:]...))
		k.Ed25519 = ed25519.NewKeyFromSeed(sum[:])
	} else {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("webhooks: ed25519 key: %w", err)
		}
		k.Ed25519 = priv
	}
	if withRSA {
		if err := k.addRSA(); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keys) addRSA() error {
	key, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return fmt.Errorf("webhooks: rsa key: %w", err)
	}
	k.RSA = key
	return nil
}

// LoadOrCreateKeys reads the keys at path, a PEM file of PKCS#8 private
// keys (an Ed25519 one, and an RSA one or not); when there is no file, it
// makes the keys as GenerateKeys does and writes them there (mode 0600), so
// the next start signs with the same keys. withRSA adds an RSA key to a file
// that has none.
func LoadOrCreateKeys(path string, seed uint64, withRSA bool) (*Keys, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		k, err := GenerateKeys(seed, withRSA)
		if err != nil {
			return nil, err
		}
		return k, k.Save(path)
	}
	if err != nil {
		return nil, fmt.Errorf("webhooks: keys: %w", err)
	}
	k, err := parseKeys(data)
	if err != nil {
		return nil, fmt.Errorf("webhooks: keys %s: %w", path, err)
	}
	if withRSA && k.RSA == nil {
		if err := k.addRSA(); err != nil {
			return nil, err
		}
		return k, k.Save(path)
	}
	return k, nil
}

func parseKeys(data []byte) (*Keys, error) {
	k := &Keys{}
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("a %q block: want PKCS#8 PRIVATE KEY blocks", block.Type)
		}
		key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		switch key := key.(type) {
		case ed25519.PrivateKey:
			k.Ed25519 = key
		case *rsa.PrivateKey:
			k.RSA = key
		default:
			return nil, fmt.Errorf("a %T key: want Ed25519 or RSA", key)
		}
	}
	if k.Ed25519 == nil {
		return nil, errors.New("no Ed25519 private key")
	}
	return k, nil
}

// Save writes the private keys to path as PEM, readable by its owner only
// (also when the file was there with a looser mode).
func (k *Keys) Save(path string) error {
	var out []byte
	for _, key := range []crypto.PrivateKey{k.Ed25519, k.RSA} {
		if r, ok := key.(*rsa.PrivateKey); ok && r == nil {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return fmt.Errorf("webhooks: save keys: %w", err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	return writeFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
}

// PublicKeys are the keys a receiver verifies HighLevel deliveries with, as
// PEM (SubjectPublicKeyInfo, "PUBLIC KEY"), the form the vendor publishes.
type PublicKeys struct {
	// Ed25519 verifies x-ghl-signature.
	Ed25519 string `json:"ed25519"`
	// RSA verifies x-wh-signature; "" when the twin does not send it.
	RSA string `json:"rsa"`
}

// Public returns the public keys.
func (k *Keys) Public() PublicKeys {
	out := PublicKeys{Ed25519: publicPEM(k.Ed25519.Public())}
	if k.RSA != nil {
		out.RSA = publicPEM(&k.RSA.PublicKey)
	}
	return out
}

func publicPEM(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(fmt.Sprintf("webhooks: marshal a %T public key: %v", pub, err)) // Ed25519 and RSA always marshal
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Sign sets HeaderGHL, and with an RSA key HeaderWH, to the signatures of
// body; they do not depend on the time.
func (k *Keys) Sign(h http.Header, body []byte, _ time.Time) error {
	h.Set(HeaderGHL, base64.StdEncoding.EncodeToString(ed25519.Sign(k.Ed25519, body)))
	if k.RSA == nil {
		return nil
	}
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(nil, k.RSA, crypto.SHA256, sum[:])
	if err != nil {
		return fmt.Errorf("webhooks: rsa signature: %w", err)
	}
	h.Set(HeaderWH, base64.StdEncoding.EncodeToString(sig))
	return nil
}

// HMAC signs with a shared secret: Header carries SignHMAC of the body and
// the attempt's time.
type HMAC struct {
	Header string `json:"header"`
	Secret string `json:"secret"`
}

// Sign sets s.Header to the signature of body sent at at.
func (s HMAC) Sign(h http.Header, body []byte, at time.Time) error {
	h.Set(s.Header, SignHMAC(s.Secret, body, at))
	return nil
}

// SignHMAC returns "t=<epoch seconds>,v1=<hex HMAC-SHA256(secret, t + "." +
// body)>" for body sent at at.
func SignHMAC(secret string, body []byte, at time.Time) string {
	t := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
