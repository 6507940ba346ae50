package perf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// child is a server process started by the harness: the twin or the baseline.
type child struct {
	name    string
	addr    string
	cmd     *exec.Cmd
	stderr  *tailBuffer
	started time.Time
	done    chan struct{} // closed when the process has been waited for
	waitErr error
	stopped sync.Once
}

// stopGrace is how long a child gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// proc says how to start a server process.
type proc struct {
	name string
	bin  string
	// dir is the working directory; the harness uses an empty temporary
	// directory so that no ./contactbridge.yaml changes the twin's settings.
	dir string
	// args are the arguments; "{addr}" is replaced by a free loopback address.
	args []string
}

// startChild starts p. The process is killed when ctx ends; call stop in any
// case.
func startChild(ctx context.Context, p proc) (*child, error) {
	name, bin, args := p.name, p.bin, p.args
	addr, err := freeAddr()
	if err != nil {
		return nil, fmt.Errorf("perf: %s: free port: %w", name, err)
	}
	argv := make([]string, len(args))
	for i, a := range args {
		argv[i] = strings.ReplaceAll(a, "{addr}", addr)
	}
	c := &child{name: name, addr: addr, stderr: &tailBuffer{max: 16 << 10}, done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, bin, argv...)
	c.cmd.Cancel = func() error { return c.cmd.Process.Kill() }
	c.cmd.Dir = p.dir
	c.cmd.Stdout = nil // the banner is not needed: /dev/null
	c.cmd.Stderr = c.stderr
	c.cmd.SysProcAttr = childSysProcAttr()
	c.cmd.WaitDelay = stopGrace
	c.started = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf: %s: start: %w", name, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// url returns the child's base URL.
func (c *child) url() string { return "http://" + c.addr }

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the process has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop ends the process, SIGTERM first, and waits for it. It is safe to call
// more than once.
func (c *child) stop() {
	c.stopped.Do(func() {
		if !c.exited() {
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
		}
		t := time.NewTimer(stopGrace)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

// exitError describes how the process ended, with the tail of its stderr.
func (c *child) exitError() error {
	msg := strings.TrimSpace(c.stderr.String())
	if msg != "" {
		msg = ": " + msg
	}
	return fmt.Errorf("perf: %s exited early (%v)%s", c.name, c.waitErr, msg)
}

// waitReady polls GET url with hdr until it answers 200, and returns the time
// from the process's start to that answer. It gives up after timeout, when
// the process exits, or when ctx ends.
func (c *child) waitReady(ctx context.Context, path string, hdr http.Header, timeout time.Duration) (time.Duration, error) {
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		Timeout:   2 * time.Second,
	}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if c.exited() {
			return 0, c.exitError()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url()+path, nil)
		if err != nil {
			return 0, err
		}
		req.Header = hdr.Clone()
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(c.started), nil
			}
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = err.Error()
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("perf: %s not ready after %s (last answer: %s)", c.name, timeout, last)
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-c.done:
		case <-time.After(time.Millisecond):
		}
	}
}

// get returns the body of the child's 200 answer to GET path.
func (c *child) get(ctx context.Context, path string, hdr http.Header) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url()+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header = hdr.Clone()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}, Timeout: readyTimeout}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("perf: %s: GET %s: %w", c.name, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	if err != nil {
		return nil, fmt.Errorf("perf: %s: GET %s: %w", c.name, path, err)
	}
	return body, nil
}

// startReady starts a child and waits until GET path answers 200, retrying
// the start (a new port) twice if the process exits first, as when another
// process took the port. On success the caller must stop the child.
func startReady(ctx context.Context, p proc, path string, hdr http.Header, timeout time.Duration) (*child, time.Duration, error) {
	var lastErr error
	for range 3 {
		c, err := startChild(ctx, p)
		if err != nil {
			return nil, 0, err
		}
		d, err := c.waitReady(ctx, path, hdr, timeout)
		if err == nil {
			return c, d, nil
		}
		exitedEarly := c.exited()
		c.stop()
		lastErr = err
		if ctx.Err() != nil || !exitedEarly {
			break
		}
	}
	return nil, 0, lastErr
}

// errNoRSS is returned where /proc is not available.
var errNoRSS = errors.New("perf: resident memory needs /proc (Linux)")

// readRSS returns the resident set size of process pid, from
// /proc/<pid>/status (VmRSS).
func readRSS(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat("/proc/self/status"); serr != nil {
				return 0, errNoRSS
			}
		}
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("perf: unexpected %q", line)
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("perf: %q: %w", line, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("perf: no VmRSS in /proc/%d/status", pid)
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's times:
// 100 on every Linux the harness runs on.
const clockTicks = 100

// readCPU returns the CPU time (user and system, every thread) process pid
// has used, from /proc/<pid>/stat.
func readCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// pid (comm) state ppid ... utime stime: fields 14 and 15, the 12th and
	// 13th after the command, which may hold spaces and parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("perf: unexpected /proc/%d/stat %q", pid, s)
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("perf: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent use.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
