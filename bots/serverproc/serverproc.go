// Package serverproc builds the server binary and runs it as a child
// process, for tests and benchmarks that treat the server as a black box
// (a separate process, a real port). It imports nothing of the project's.
package serverproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Terminate asks a child process to stop (SIGTERM, which lets nginx,
// redis-server and this server take their own workers and connections
// down) and waits until exited is closed; a process still running after
// grace is killed, and waited for too.
func Terminate(p *os.Process, exited <-chan struct{}, grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = p.Kill()
		<-exited
	}
}

// Build compiles the server package ("github.com/arenaserver/arena/server" unless pkg is set) into
// dir and returns the binary's path.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	if pkg == "" {
		pkg = "github.com/arenaserver/arena/server"
	}
	bin := filepath.Join(dir, "arena-server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("serverproc: go build %s: %v\n%s", pkg, err, out)
	}
	return bin, nil
}

// LoadGenFlags lift the server's per-address budgets (connections,
// sessions, rooms, lobby requests and events per address): for a server
// measured with a load generator whose every bot is on loopback, one
// address. Never for a public server.
var LoadGenFlags = []string{"-max-conns-per-ip", "-1", "-max-sessions-per-ip", "-1", "-max-rooms-per-ip", "-1",
	"-max-http-conns-per-ip", "-1", "-conn-rate-per-ip", "-1", "-lobby-rate-per-ip", "1e9", "-event-rate-per-ip", "1e9"}

// Proc is a running server.
type Proc struct {
	Addr string // host:port it listens on
	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu  sync.Mutex
	log strings.Builder
}

var servingRE = regexp.MustCompile(`msg=serving addr=(\S+)|"msg":"serving","addr":"([^"]+)"`)

// Start runs bin with args (add -addr 127.0.0.1:0 to pick a free port) and
// waits until it logs that it is serving.
func Start(bin string, args ...string) (*Proc, error) {
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.log.Len() < 4<<20 {
				p.log.WriteString(line + "\n")
			}
			p.mu.Unlock()
			if m := servingRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1] + m[2]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	go func() {
		// Read the log to its end before Wait, which closes the pipe: the
		// last lines (written just before exit) would be lost otherwise.
		<-logDone
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case a := <-addr:
		p.Addr = a
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("serverproc: server exited before serving: %v\n%s", p.err, p.Log())
	case <-time.After(15 * time.Second):
		_ = p.Kill()
		return nil, errors.New("serverproc: server did not start within 15 s")
	}
}

// Log returns what the server has written to stderr so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the server.
func (p *Proc) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Wait waits for the process to exit (up to timeout) and returns its exit
// error (nil for status 0).
func (p *Proc) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return errors.New("serverproc: server still running")
	}
}

// Kill stops the server at once and waits for it.
func (p *Proc) Kill() error {
	_ = p.cmd.Process.Kill()
	<-p.done
	return nil
}

var (
	testBuild    sync.Once
	testBin      string
	testBuildErr error
)

// StartForTest builds the server binary once per test process, starts it
// on a free loopback port with args, and stops it when the test ends,
// printing its log if the test failed.
func StartForTest(t testing.TB, args ...string) *Proc {
	t.Helper()
	testBuild.Do(func() {
		dir, err := os.MkdirTemp("", "arena-server-test")
		if err != nil {
			testBuildErr = err
			return
		}
		testBin, testBuildErr = Build(context.Background(), dir, "")
	})
	if testBuildErr != nil {
		t.Fatal(testBuildErr)
	}
	p, err := Start(testBin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Kill()
		if t.Failed() {
			t.Logf("server log:\n%s", p.Log())
		}
	})
	return p
}
