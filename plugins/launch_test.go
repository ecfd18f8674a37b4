package plugins_test

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins"
)

// installPlugin copies this test binary (which serves the echo plugin when
// launched by a host) to <dir>/echo with mode, and returns its sha256.
func installPlugin(t *testing.T, dir string, mode os.FileMode) []byte {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "echo")
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(out, h), in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if err := os.Chmod(path, mode); err != nil { // exactly mode, whatever the umask
		t.Fatal(err)
	}
	return h.Sum(nil)
}

// An executable in plugins.dir runs with the connector's secrets: one that
// another user could have written, or that differs from its pin, is
// refused before it runs, fatally (no restart loop), with the path, the
// owner, the mode and the fix in the message.
func TestLaunchRefusesUntrustedExecutables(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) []byte // returns the pin, if any
		want  []string
	}{
		{"group-writable", func(t *testing.T, dir string) []byte { installPlugin(t, dir, 0o775); return nil },
			[]string{"echo: refusing", "the executable is group- or world-writable", "mode -rwxrwxr-x", "chmod go-w " + "DIR/echo"}},
		{"world-writable", func(t *testing.T, dir string) []byte { installPlugin(t, dir, 0o757); return nil },
			[]string{"the executable is group- or world-writable", "mode -rwxr-xrwx"}},
		{"writable directory", func(t *testing.T, dir string) []byte {
			installPlugin(t, dir, 0o755)
			os.Chmod(dir, 0o777)
			return nil
		}, []string{"the directory is group- or world-writable", "mode drwxrwxrwx", "chmod go-w DIR"}},
		{"another owner", func(t *testing.T, dir string) []byte {
			if os.Getuid() != 0 {
				t.Skip("needs root to give a file to another user")
			}
			installPlugin(t, dir, 0o755)
			if err := os.Chown(filepath.Join(dir, "echo"), 65534, 65534); err != nil {
				t.Fatal(err)
			}
			return nil
		}, []string{"the executable is owned by another user", "uid 65534", "chown "}},
		{"checksum differs", func(t *testing.T, dir string) []byte {
			sum := installPlugin(t, dir, 0o755)
			sum[0] ^= 0xff
			return sum
		}, []string{"refusing DIR/echo (checksums did not match): its sha256 is ", "plugins.sha256.echo pins ", "update the pin"}},
		{"pinned but absent", func(t *testing.T, dir string) []byte {
			os.MkdirAll(dir, 0o755)
			return make([]byte, 32)
		}, []string{"plugins.sha256.echo pins an executable but DIR/echo is not one"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plugins")
			pin := tc.setup(t, dir)
			log, _ := testLog(t)
			p, err := plugins.Launch(ctxFor(t, 30*time.Second), plugins.LaunchConfig{Name: "echo", Dir: dir, SHA256: pin, Log: log, StartTimeout: 20 * time.Second})
			if err == nil {
				p.Kill()
				t.Fatal("launched")
			}
			t.Log(err)
			if pipeline.ClassOf(err) != pipeline.Fatal {
				t.Errorf("refusal is %v, want fatal: %v", pipeline.ClassOf(err), err)
			}
			for _, w := range tc.want {
				if w = strings.ReplaceAll(w, "DIR", dir); !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// A well-kept executable runs, with or without a matching pin.
func TestLaunchAcceptsOwnedExecutable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts plugin processes")
	}
	dir := filepath.Join(t.TempDir(), "plugins")
	sum := installPlugin(t, dir, 0o755)
	for _, pin := range [][]byte{nil, sum} {
		log, _ := testLog(t)
		p, err := plugins.Launch(ctxFor(t, 30*time.Second), plugins.LaunchConfig{Name: "echo", Dir: dir, SHA256: pin, Log: log})
		if err != nil {
			t.Fatalf("pin %x: %v", pin, err)
		}
		if p.Pid() == 0 {
			t.Error("no process")
		}
		p.Kill()
	}
}
