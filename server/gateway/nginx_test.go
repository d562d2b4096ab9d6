package gateway

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/arenaserver/arena/bots/serverproc"
	"github.com/arenaserver/arena/server/room"
)

// nginxConfig is the README's configuration, with the test's ports and
// paths. upgrade chooses whether WebSocket upgrades are passed through.
func nginxConfig(dir, listen, backend string, upgrade bool) string {
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must reach the temp directory
	}
	ws := `proxy_set_header Connection "";` // upgrades not passed: a plain GET reaches the server
	if upgrade {
		ws = "proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection \"upgrade\";"
	}
	return fmt.Sprintf(`%s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  upstream arena { server %[4]s; keepalive 64; }
  server {
    listen %[3]s;
    location = /ws {
      proxy_pass http://arena;
      proxy_http_version 1.1;
      %[5]s
      proxy_read_timeout 60s;
    }
    location = /poll {
      proxy_pass http://arena;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_read_timeout 60s;
      client_max_body_size 16k;
    }
  }
}
`, user, dir, listen, backend, ws)
}

// startNginx runs Debian's nginx in front of backend on a free port and
// returns the WebSocket URL through it. It fails the test when nginx is
// not installed: `make setup` installs it.
func startNginx(t *testing.T, backend string, upgrade bool) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
		if _, serr := os.Stat(bin); serr != nil {
			t.Fatalf("nginx is not installed (Debian package nginx): run `make setup` or `apt-get install nginx`: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	listen := ln.Addr().String()
	require.NoError(t, ln.Close())
	dir := t.TempDir()
	conf := filepath.Join(dir, "nginx.conf")
	require.NoError(t, os.WriteFile(conf, []byte(nginxConfig(dir, listen, backend, upgrade)), 0o644))
	cmd := exec.Command(bin, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"), "-g", "daemon off;")
	out, err := os.Create(filepath.Join(dir, "stderr"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// TERM: nginx's fast shutdown takes its workers down too; a killed
		// master would leave them running, holding the port.
		serverproc.Terminate(cmd.Process, done, 5*time.Second)
		_ = out.Close()
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", listen, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return "ws://" + listen + "/ws"
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			elog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited: %v\n%s\n%s", waitErr, log, elog)
		default:
		}
		require.True(t, time.Now().Before(deadline), "nginx did not listen on %s", listen)
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBehindNginx puts a real nginx in front of the server with the two
// configurations the README gives: with upgrades passed the automatic
// choice stays on WebSocket; without them it ends on polling within a few
// seconds. Both play.
func TestBehindNginx(t *testing.T) {
	for _, tc := range []struct {
		upgrade bool
		want    string
	}{{true, "ws"}, {false, "poll"}} {
		t.Run(fmt.Sprintf("upgrade=%v", tc.upgrade), func(t *testing.T) {
			ts := startServer(t, room.Config{}, Config{})
			url := startNginx(t, ts.addr, tc.upgrade)
			start := time.Now()
			c, sc := dialCounted(t, url, "via-nginx", "auto", time.Hour)
			assert.Less(t, time.Since(start), 4*time.Second)
			assert.Equal(t, tc.want, c.Transport())
			_, err := c.Join(context.Background(), "", false)
			require.NoError(t, err)
			last := playFor(t, c, time.Second)
			require.Eventually(t, func() bool { _, a := sc.state(); return a+8 >= last }, 3*time.Second, 10*time.Millisecond, "inputs acknowledged through nginx")
			assert.Greater(t, sc.n.Load(), int64(20), "snapshots through nginx")
			assert.True(t, strings.HasPrefix(url, "ws://127.0.0.1:"))
		})
	}
}
