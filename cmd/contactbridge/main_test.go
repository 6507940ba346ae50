package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// startMock runs `contactbridge mock` with args on a free port and returns
// the banner it printed; the command stops when the test ends.
func startMock(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"mock", "--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("mock exited with %v", err)
		}
	})
	var banner strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		banner.WriteString(sc.Text() + "\n")
		if strings.HasSuffix(sc.Text(), "/contacts/'") { // the last curl line
			break
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // drain until the pipe closes
	return banner.String()
}

var curlPart = regexp.MustCompile(`-H '([^']+)'|'(http[^']+)'`)

// curlRequest turns the banner's first curl line into a request.
func curlRequest(t *testing.T, banner string) *http.Request {
	t.Helper()
	for _, line := range strings.Split(banner, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "curl -s -H") {
			continue
		}
		var url string
		hdr := http.Header{}
		for _, m := range curlPart.FindAllStringSubmatch(line, -1) {
			if m[2] != "" {
				url = m[2]
				continue
			}
			k, v, _ := strings.Cut(m[1], ": ")
			hdr.Set(k, v)
		}
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		return req
	}
	t.Fatalf("no curl line in banner:\n%s", banner)
	return nil
}

func TestMock_PrintedCurlWorks(t *testing.T) {
	banner := startMock(t, "--seed", "42", "--strict")
	req := curlRequest(t, banner)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Contacts []any `json:"contacts"`
		Count    *int  `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || body.Count == nil || body.Contacts == nil {
		t.Fatalf("printed curl: status %d, body %+v", resp.StatusCode, body)
	}
}

func TestMock_SeedMakesBannerReproducible(t *testing.T) {
	token := regexp.MustCompile(`token +(pit-[0-9a-f-]+)`)
	a := token.FindStringSubmatch(startMock(t, "--seed", "7"))
	b := token.FindStringSubmatch(startMock(t, "--seed", "7"))
	if a == nil || b == nil || a[1] != b[1] {
		t.Fatalf("tokens differ with the same seed: %v vs %v", a, b)
	}
}

func TestMock_RejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"non-loopback address", []string{"mock", "--addr", "0.0.0.0:4010"}, "loopback"},
		{"unknown clock", []string{"mock", "--addr", "127.0.0.1:0", "--clock", "slow"}, "clock \"slow\""},
		{"missing spec file", []string{"mock", "--addr", "127.0.0.1:0", "--spec", "/nonexistent.yaml"}, "read spec"},
		{"bad log level", []string{"mock", "--log-level", "loud"}, "--log-level"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run(%v) = %v, want an error mentioning %q", tc.args, err, tc.want)
			}
		})
	}
}
