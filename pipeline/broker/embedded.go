package broker

import (
	"fmt"
	"net"
	"os"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure the embedded broker.
type Options struct {
	// Listen is the loopback host:port; port 0 picks a free one.
	Listen string
	// DataDir holds the broker's segments, offsets and group state.
	DataDir string
	// Fsync makes each produced batch durable before it is acknowledged.
	Fsync bool
	Log   *logrus.Entry
}

// Embedded is a running in-process broker.
type Embedded struct {
	cluster *kfake.Cluster
	addrs   []string
}

// Start starts the broker and returns once it accepts connections.
func Start(o Options) (*Embedded, error) {
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen %q: %w", o.Listen, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("embedded broker: listen %q: only loopback addresses are allowed", o.Listen)
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	log := o.Log
	if log == nil {
		log = logrus.NewEntry(logrus.StandardLogger())
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.DataDir(o.DataDir),
		kfake.ClusterID("tajo-embedded"),
		// kfake picks the address; we only let it listen where we said.
		kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, o.Listen) }),
		kfake.GroupMinSessionTimeout(time.Second),
		kfake.WithLogger(logAdapter{log}),
	}
	if o.Fsync {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	return &Embedded{cluster: c, addrs: c.ListenAddrs()}, nil
}

// Addrs returns the bootstrap addresses to give a client.
func (e *Embedded) Addrs() []string { return e.addrs }

// Close flushes and stops the broker.
func (e *Embedded) Close() { e.cluster.Close() }

type logAdapter struct{ log *logrus.Entry }

func (l logAdapter) Logf(level kfake.LogLevel, msg string, args ...any) {
	e := l.log.WithField("component", "embedded-broker")
	switch level {
	case kfake.LogLevelError:
		e.Errorf(msg, args...)
	case kfake.LogLevelWarn:
		e.Debugf(msg, args...) // request failures during rebalances are routine
	default:
		e.Tracef(msg, args...)
	}
}
