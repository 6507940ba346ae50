package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"strings"
	"sync"
)

// APIKey is the kind of a key that authenticates with HTTP Basic (client id
// and secret), as Marketing 360's API keys do.
const APIKey Kind = "api-key"

// KeyRing holds API keys: client id, secret and the principal they stand for.
// Its zero value is not usable; make one with NewKeyRing.
type KeyRing struct {
	mu   sync.RWMutex // guards keys
	keys map[string]key
}

type key struct {
	secret string
	p      Principal
}

// NewKeyRing returns an empty key ring.
func NewKeyRing() *KeyRing { return &KeyRing{keys: map[string]key{}} }

// Add registers a key; the principal's AppID becomes the client id.
func (k *KeyRing) Add(clientID, secret string, p Principal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p.Kind, p.AppID, p.Scopes = APIKey, clientID, slices.Clone(p.Scopes)
	k.keys[clientID] = key{secret: secret, p: p}
}

// KeyEntry is an API key to keep across a Reset.
type KeyEntry struct {
	ClientID, Secret string
	Principal        Principal
}

// Reset forgets every key but the ones given, in one step: no request sees
// the ring without them.
func (k *KeyRing) Reset(keep []KeyEntry) {
	keys := make(map[string]key, len(keep))
	for _, e := range keep {
		p := e.Principal
		p.Kind, p.AppID, p.Scopes = APIKey, e.ClientID, slices.Clone(p.Scopes)
		keys[e.ClientID] = key{secret: e.Secret, p: p}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = keys
}

// Authenticate returns the principal of an "Authorization: Basic" value.
func (k *KeyRing) Authenticate(header string) (*Principal, error) {
	scheme, enc, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return nil, ErrInvalidToken
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return nil, ErrInvalidToken
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, ErrInvalidToken
	}
	k.mu.RLock()
	found, exists := k.keys[id]
	k.mu.RUnlock()
	if !exists || subtle.ConstantTimeCompare([]byte(found.secret), []byte(secret)) != 1 {
		return nil, ErrInvalidToken
	}
	p := found.p
	p.Scopes = slices.Clone(p.Scopes)
	return &p, nil
}
