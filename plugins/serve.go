package plugins

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"github.com/sirupsen/logrus"
)

// Serve runs impl as a plugin process until the host ends it. It is what a
// plugin binary's main (or `tajo plugin <name>`) calls, and it must be
// called before anything is written to stdout: go-plugin's handshake line
// is the first thing the host reads there. Run by hand (without the
// host's handshake cookie), it explains that and exits with status 1.
func Serve(name string, impl SourcePlugin) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSets(impl),
		GRPCServer:       newGRPCServer,
		Logger:           Logger().Named(name),
	})
}

var (
	builtinMu sync.RWMutex
	builtins  = map[string]func() SourcePlugin{}
)

// RegisterBuiltin makes a plugin servable by `tajo plugin <name>` and
// launchable by name without a binary in plugins.dir. Plugin packages call
// it from init; cmd/tajo imports them.
func RegisterBuiltin(name string, newPlugin func() SourcePlugin) {
	builtinMu.Lock()
	defer builtinMu.Unlock()
	if _, dup := builtins[name]; dup {
		panic("plugins: built-in plugin registered twice: " + name)
	}
	builtins[name] = newPlugin
}

// Builtin returns the constructor of a built-in plugin.
func Builtin(name string) (func() SourcePlugin, bool) {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	f, ok := builtins[name]
	return f, ok
}

// Builtins lists the built-in plugins, sorted.
func Builtins() []string {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	out := make([]string, 0, len(builtins))
	for n := range builtins {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ServeTest serves impl inside the calling process, in go-plugin's test
// mode, and attaches a host to it over real gRPC on loopback: the same
// adapters, stream and error mapping as a launched process, without
// building a binary. Killing the returned Plugin stops the server, which
// is how tests simulate a crash. log receives the host-side plugin logs.
func ServeTest(ctx context.Context, name string, impl SourcePlugin, log *logrus.Entry) (*Plugin, error) {
	ctx, cancel := context.WithCancel(ctx)
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	go plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: pluginSets(impl),
		GRPCServer:       newGRPCServer,
		Logger:           newHCLogger(log.WithField("plugin", name), nil),
		Test:             &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: reattach, CloseCh: closed},
	})
	var rc *plugin.ReattachConfig
	select {
	case rc = <-reattach:
	case <-closed:
		cancel()
		return nil, errors.New("plugins: test server exited before serving")
	case <-time.After(10 * time.Second):
		cancel()
		<-closed
		return nil, errors.New("plugins: test server did not start")
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig: Handshake,
		// A reattaching client skips version negotiation and dispenses
		// from Plugins: give it the set of the version the server chose.
		Plugins:          pluginSets(nil)[rc.ProtocolVersion],
		Reattach:         rc,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		GRPCDialOptions:  dialOptions(),
		Logger:           newHCLogger(log.WithField("plugin", name), nil),
	})
	stop := func() {
		cancel()
		<-closed
	}
	p, err := dispense(name, client)
	if err != nil {
		stop()
		return nil, err
	}
	p.stop = stop
	return p, nil
}

// dispense connects to a started client and returns the plugin; it kills
// the client if anything fails.
func dispense(name string, client *plugin.Client) (*Plugin, error) {
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: start: %w", name, err)
	}
	raw, err := rpc.Dispense(pluginKey)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: %w", name, err)
	}
	src, ok := raw.(*grpcClient)
	if !ok {
		client.Kill()
		return nil, fmt.Errorf("plugin %s: unexpected plugin type %T", name, raw)
	}
	return &Plugin{Name: name, client: client, src: src}, nil
}
