package store

import (
	"math/rand/v2"
	"sync"
)

// The alphabets of the vendor's ids.
const (
	Base62    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	HexDigits = "0123456789abcdef"
)

// IDs makes identifiers shaped like the vendor's: 20 base62 characters for
// records, 24 hex digits for Mongo-style object ids. Seeded, it makes the same
// sequence every run.
type IDs struct {
	mu  sync.Mutex // guards rng
	rng *rand.Rand
}

// NewIDs returns a generator seeded with seed.
func NewIDs(seed uint64) *IDs {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return &IDs{rng: rand.New(rand.NewChaCha8(key))}
}

// New returns a 20-character base62 id.
func (g *IDs) New() string { return g.draw(20, Base62) }

// ObjectID returns a 24-digit hex id.
func (g *IDs) ObjectID() string { return g.draw(24, HexDigits) }

// Token returns n characters of [0-9a-f], for secrets.
func (g *IDs) Token(n int) string { return g.draw(n, HexDigits) }

func (g *IDs) draw(n int, alphabet string) string {
	b := make([]byte, n)
	g.mu.Lock()
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	g.mu.Unlock()
	return string(b)
}
