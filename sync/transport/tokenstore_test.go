package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestFileStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := &FileStore{Path: filepath.Join(dir, "sub", "tokens.json")}
	if _, err := s.Load(ctx, "loc"); !errors.Is(err, ErrNoToken) {
		t.Fatalf("Load of nothing = %v, want ErrNoToken", err)
	}
	first := Token{AccessToken: "a1", RefreshToken: "r1", Expiry: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Generation: 1}
	if err := s.Save(ctx, "loc", first); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, "loc", Token{AccessToken: "a1b", Generation: 1}); !errors.Is(err, ErrTokenConflict) {
		t.Errorf("second generation 1 = %v, want ErrTokenConflict", err)
	}
	if err := s.Save(ctx, "other", Token{AccessToken: "o", Generation: 1}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	// A write cut short by a crash leaves a temporary file behind, never a
	// torn tokens file.
	if err := os.WriteFile(filepath.Join(dir, "sub", ".tokens.json.123"), []byte(`{"highlevel": {"loc": {"accessTo`), 0o600); err != nil {
		t.Fatal(err)
	}
	again := &FileStore{Path: s.Path}
	got, err := again.Load(ctx, "loc")
	if err != nil || got != first {
		t.Errorf("Load after restart = %+v, %v; want %+v", got, err, first)
	}
	if _, err := again.LoadKey("k"); !errors.Is(err, ErrNoKey) {
		t.Errorf("LoadKey of nothing = %v, want ErrNoKey", err)
	}
	key := APIKey{ClientID: "id", ClientSecret: "secret", AccountID: 7}
	if err := again.SaveKey("k", key); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadKey("k"); err != nil || got != key {
		t.Errorf("LoadKey = %+v, %v", got, err)
	}
	if got, err := s.Load(ctx, "loc"); err != nil || got != first {
		t.Errorf("the token after a key was saved: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "sub"))
	if len(entries) != 3 {
		t.Errorf("folder holds %d files, want the tokens, its lock and the stray temporary one", len(entries))
	}
}

// Processes sharing the file (here, one FileStore each) cannot both store
// the same generation.
func TestFileStoreOneWinnerAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	if err := (&FileStore{Path: path}).Save(context.Background(), "loc", Token{AccessToken: "a1", Generation: 1}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- (&FileStore{Path: path}).Save(context.Background(), "loc", Token{AccessToken: fmt.Sprint("a2-", i), Generation: 2})
		}()
	}
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, ErrTokenConflict):
			t.Error(err)
		}
	}
	if won != 1 {
		t.Errorf("%d stores won generation 2, want 1", won)
	}
}
