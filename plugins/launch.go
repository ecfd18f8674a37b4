package plugins

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
)

// LaunchConfig says which plugin to start and how.
type LaunchConfig struct {
	// Name is the plugin's name: a binary of that name in Dir, or else a
	// plugin built into this binary (served by `tajo plugin <name>`). An
	// operator can thus replace a built-in plugin by dropping a binary in
	// Dir.
	Name string
	// Dir is plugins.dir.
	Dir string
	// Path, when set, is the binary to run with Args instead of resolving
	// Name (tests launch their own binaries this way).
	Path string
	Args []string
	// SHA256, when set (plugins.sha256), is the checksum the binary must
	// have: go-plugin's SecureConfig refuses to start one that differs, and
	// a pinned Name runs only from Dir, never as the built-in.
	SHA256 []byte
	// StartTimeout bounds the handshake; 0 means 30s.
	StartTimeout time.Duration
	// Log receives the plugin's logs, with a plugin field.
	Log *logrus.Entry
	// Checks receives the connection checks the plugin reports
	// (ReportCheck); nil drops them.
	Checks pipeline.CheckReporter
}

// Plugin is one running plugin: a process, or a test server (ServeTest).
type Plugin struct {
	Name   string
	client *plugin.Client
	src    *grpcClient
	stop   func() // ends a test server
	once   sync.Once
}

// Launch starts a plugin process and connects to it over gRPC with mutual
// TLS. The process gets no environment from the host, only go-plugin's
// handshake variables: secrets reach a plugin through Configure alone.
// Every failure kills what was started.
func Launch(ctx context.Context, c LaunchConfig) (*Plugin, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, args, err := c.resolve()
	if err != nil {
		return nil, err
	}
	log := c.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	log = log.WithField("plugin", c.Name)
	cmd := exec.Command(path, args...)
	cmd.Env = []string{}
	dieWithHost(cmd)
	timeout := c.StartTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cc := &plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSets(nil),
		Cmd:              cmd,
		SkipHostEnv:      true,
		AutoMTLS:         true,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  dialOptions(),
		Logger:           newHCLogger(log, c.Checks),
		StartTimeout:     timeout,
	}
	if len(c.SHA256) > 0 {
		cc.SecureConfig = &plugin.SecureConfig{Checksum: c.SHA256, Hash: sha256.New()}
	}
	p, err := dispense(c.Name, plugin.NewClient(cc))
	if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
		got := "unreadable"
		if b, rerr := os.ReadFile(path); rerr == nil {
			got = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		return nil, pipeline.Stop(fmt.Errorf("plugin %s: refusing %s (%w): its sha256 is %s, plugins.sha256.%s pins %x; reinstall the plugin you meant, or update the pin",
			c.Name, path, plugin.ErrChecksumsDoNotMatch, got, c.Name, c.SHA256))
	}
	return p, err
}

func (c LaunchConfig) resolve() (string, []string, error) {
	if c.Path != "" {
		return c.Path, c.Args, nil
	}
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) || c.Name == "." || c.Name == ".." {
		return "", nil, fmt.Errorf("plugins: invalid plugin name %q", c.Name)
	}
	if c.Dir != "" {
		p := filepath.Join(c.Dir, c.Name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			if fi.Mode().Perm()&0o111 == 0 {
				return "", nil, pipeline.Stop(fmt.Errorf("plugin %s: %s is not executable", c.Name, p))
			}
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", nil, err
			}
			if err := checkExecutable(c.Name, abs); err != nil {
				return "", nil, err
			}
			return abs, nil, nil
		}
	}
	if len(c.SHA256) > 0 {
		return "", nil, pipeline.Stop(fmt.Errorf("plugin %s: plugins.sha256.%s pins an executable but %s is not one; install the plugin there, or remove the pin",
			c.Name, c.Name, filepath.Join(c.Dir, c.Name)))
	}
	if _, ok := Builtin(c.Name); ok {
		self, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("plugin %s: locating this binary: %w", c.Name, err)
		}
		return self, []string{"plugin", c.Name}, nil
	}
	where := "no plugins.dir is set"
	if c.Dir != "" {
		where = "no executable " + filepath.Join(c.Dir, c.Name)
	}
	return "", nil, fmt.Errorf("plugin %s: not built in and %s", c.Name, where)
}

// checkExecutable refuses a plugin executable that another user could
// have written, since it runs with the connector's secrets: it (after
// symlinks) and the directories holding it and the link must belong to
// tajo's user or root and must not be group- or world-writable. The
// refusal is fatal and names the path, its owner and mode, and the fix.
func checkExecutable(name, path string) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return pipeline.Stop(fmt.Errorf("plugin %s: %w", name, err))
	}
	check := []string{real, filepath.Dir(real)}
	if d := filepath.Dir(path); d != filepath.Dir(real) {
		check = append(check, d)
	}
	for _, p := range check {
		fi, err := os.Stat(p)
		if err != nil {
			return pipeline.Stop(fmt.Errorf("plugin %s: %w", name, err))
		}
		what := "executable"
		if fi.IsDir() {
			what = "directory"
		}
		uid, known := fileOwner(fi)
		var problem, fix string
		switch {
		case known && uid != os.Getuid() && uid != 0:
			problem = "is owned by another user"
			fix = fmt.Sprintf("chown %s %s", login(os.Getuid()), p)
		case fi.Mode().Perm()&0o022 != 0:
			problem = "is group- or world-writable"
			fix = "chmod go-w " + p
		default:
			continue
		}
		owner := "unknown"
		if known {
			owner = userName(uid)
		}
		return pipeline.Stop(fmt.Errorf("plugin %s: refusing %s: the %s %s (owner %s, mode %s), so someone other than tajo's user could change what runs with the connector's secrets; fix: %s",
			name, path, what, problem, owner, fi.Mode(), fix))
	}
	return nil
}

// userName is "name (uid N)", or "uid N" when the user is unknown.
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

// login is the user's name as chown takes it, or the uid.
func login(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

// Source is the plugin's SourcePlugin, whose calls cross gRPC.
func (p *Plugin) Source() SourcePlugin { return p.src }

// Pid is the plugin's process id, 0 for a test server.
func (p *Plugin) Pid() int {
	if p.stop != nil {
		return 0
	}
	pid, _ := strconv.Atoi(p.client.ID())
	return pid
}

// Ping checks the process is alive and answering gRPC health checks.
func (p *Plugin) Ping(ctx context.Context) error {
	if p.client.Exited() {
		return fmt.Errorf("%w: plugin %s exited", ErrUnavailable, p.Name)
	}
	if err := p.src.ping(ctx); err != nil {
		return fmt.Errorf("%w: plugin %s: health check: %v", ErrUnavailable, p.Name, err)
	}
	return nil
}

// Kill ends the plugin: go-plugin asks the process to exit, waits briefly
// and kills it. Safe to call more than once and from any error path.
//
// go-plugin's graceful path is an RPC that never returns from a frozen
// process, so after killGrace the process gets SIGKILL.
func (p *Plugin) Kill() {
	p.once.Do(func() {
		done := make(chan struct{})
		go func() {
			p.client.Kill()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(killGrace):
			if pid := p.Pid(); pid > 0 {
				if proc, err := os.FindProcess(pid); err == nil {
					_ = proc.Kill()
				}
			}
			<-done
		}
		if p.stop != nil {
			p.stop()
		}
	})
}

// killGrace is how long Kill lets a plugin exit on its own.
const killGrace = 3 * time.Second
