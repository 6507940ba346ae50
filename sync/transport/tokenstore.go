package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Errors of a TokenStore.
var (
	// ErrNoToken: the store holds no token for the key.
	ErrNoToken = errors.New("transport: no token stored")
	// ErrTokenConflict: Save was given a token that does not follow the
	// stored one (another process refreshed first).
	ErrTokenConflict = errors.New("transport: stored token changed meanwhile")
)

// Token is a tenant's OAuth tokens as stored.
type Token struct {
	AccessToken  string    `json:"accessToken"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Generation counts the tokens of the key: 1 for the first, one more
	// at each refresh.
	Generation int64 `json:"generation"`
	// LocationID and Scope are what the token endpoint said.
	LocationID string `json:"locationId,omitempty"`
	Scope      string `json:"scope,omitempty"`
}

// TokenStore keeps tokens by key (a HighLevel location). Save is a
// compare-and-swap: it stores tok only when tok.Generation is one more than
// the stored token's (1 when none is stored), and returns ErrTokenConflict
// otherwise, so that two processes refreshing at once cannot both win.
// Save returns once tok is durable.
type TokenStore interface {
	Load(ctx context.Context, key string) (Token, error)
	Save(ctx context.Context, key string, tok Token) error
}

// APIKey is a Marketing 360 API key as stored.
type APIKey struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	// AccountID is the account the key was checked against.
	AccountID int64 `json:"accountId,omitempty"`
}

// ErrNoKey: the store holds no Marketing 360 key of that name.
var ErrNoKey = errors.New("transport: no API key stored")

// FileStore keeps credentials in one JSON file, written atomically (a
// temporary file synced, then renamed over it) with mode 0600: HighLevel
// tokens by location (a TokenStore) and Marketing 360 keys by name. It is
// safe for concurrent use by one process.
type FileStore struct {
	Path string

	mu sync.Mutex
}

var _ TokenStore = (*FileStore)(nil)

// credentials is the file's content.
type credentials struct {
	HighLevel map[string]Token  `json:"highlevel,omitempty"`
	M360      map[string]APIKey `json:"m360,omitempty"`
}

// Load returns the token of key.
func (s *FileStore) Load(_ context.Context, key string) (Token, error) {
	all, err := s.view()
	if err != nil {
		return Token{}, err
	}
	tok, ok := all.HighLevel[key]
	if !ok {
		return Token{}, fmt.Errorf("%w for %q in %s", ErrNoToken, key, s.Path)
	}
	return tok, nil
}

// Save stores tok for key when it follows the stored token. The check and
// the write hold a lock on the file (path.lock) that other processes
// respect too.
func (s *FileStore) Save(_ context.Context, key string, tok Token) error {
	return s.update(func(all *credentials) error {
		if prev := all.HighLevel[key].Generation; tok.Generation != prev+1 {
			return fmt.Errorf("%w: %q is at generation %d, not %d", ErrTokenConflict, key, prev, tok.Generation-1)
		}
		if all.HighLevel == nil {
			all.HighLevel = map[string]Token{}
		}
		all.HighLevel[key] = tok
		return nil
	})
}

// LoadKey returns the Marketing 360 key stored as name.
func (s *FileStore) LoadKey(name string) (APIKey, error) {
	all, err := s.view()
	if err != nil {
		return APIKey{}, err
	}
	key, ok := all.M360[name]
	if !ok {
		return APIKey{}, fmt.Errorf("%w as %q in %s", ErrNoKey, name, s.Path)
	}
	return key, nil
}

// SaveKey stores a Marketing 360 key as name, replacing any.
func (s *FileStore) SaveKey(name string, key APIKey) error {
	return s.update(func(all *credentials) error {
		if all.M360 == nil {
			all.M360 = map[string]APIKey{}
		}
		all.M360[name] = key
		return nil
	})
}

// view reads the file.
func (s *FileStore) view() (credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read()
}

// update changes the file with change under the lock, and writes it
// unless change fails.
func (s *FileStore) update(change func(*credentials) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	all, err := s.read()
	if err != nil {
		return err
	}
	if err := change(&all); err != nil {
		return err
	}
	return s.write(all)
}

// lock takes the file's lock, making its folder first.
func (s *FileStore) lock() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return nil, fmt.Errorf("transport: lock credentials: %w", err)
	}
	return lockFile(s.Path)
}

func (s *FileStore) read() (credentials, error) {
	var all credentials
	raw, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return all, fmt.Errorf("transport: read credentials: %w", err)
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		return all, fmt.Errorf("transport: read credentials %s: %w", s.Path, err)
	}
	return all, nil
}

func (s *FileStore) write(all credentials) error {
	raw, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return fmt.Errorf("transport: encode credentials: %w", err)
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("transport: write credentials: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.Path)+".*")
	if err != nil {
		return fmt.Errorf("transport: write credentials: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	// CreateTemp makes the file 0600.
	_, err = f.Write(raw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.Path)
	}
	if err != nil {
		return fmt.Errorf("transport: write credentials: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("transport: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("transport: sync %s: %w", dir, err)
	}
	return nil
}
