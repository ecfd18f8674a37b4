package plugins

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
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
	// SHA256, when set, is the checksum the binary must have: go-plugin
	// refuses to start a binary that differs.
	SHA256 []byte
	// StartTimeout bounds the handshake; 0 means 30s.
	StartTimeout time.Duration
	// Log receives the plugin's logs, with a plugin field.
	Log *logrus.Entry
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
		Logger:           newHCLogger(log),
		StartTimeout:     timeout,
	}
	if len(c.SHA256) > 0 {
		cc.SecureConfig = &plugin.SecureConfig{Checksum: c.SHA256, Hash: sha256.New()}
	}
	return dispense(c.Name, plugin.NewClient(cc))
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
				return "", nil, fmt.Errorf("plugin %s: %s is not executable", c.Name, p)
			}
			abs, err := filepath.Abs(p)
			return abs, nil, err
		}
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
