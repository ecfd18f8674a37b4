package broker

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tajo/tajo/pipeline/config"
)

// Options configure the embedded broker.
type Options struct {
	// Listen is the host:port; port 0 picks a free one. It must be a
	// loopback address unless SASL uses a SCRAM mechanism (PLAIN would
	// send the password in the clear).
	Listen string
	// DataDir holds the broker's segments, offsets and group state.
	DataDir string
	// Fsync makes each produced batch durable before it is acknowledged.
	Fsync bool
	// SASL, when its mechanism is set, makes every client authenticate as
	// this user (tajo's own client included).
	SASL config.SASL
	// MaxMessageBytes is the broker's message.max.bytes: the limit of
	// topics that have no max.message.bytes of their own. 0 keeps kfake's
	// default (1 MiB + 12, as Kafka).
	MaxMessageBytes int
	// Retention is the broker's log.retention.ms, for topics without a
	// retention.ms of their own; expired records are trimmed every
	// retentionEvery. 0 keeps kfake's default (7 days).
	Retention time.Duration
	Log       *logrus.Entry
}

// Embedded is a running in-process broker.
type Embedded struct {
	cluster *kfake.Cluster
	addrs   []string
	stop    chan struct{}
	done    chan struct{}
}

// Start starts the broker and returns once it accepts connections.
func Start(o Options) (*Embedded, error) {
	host, _, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: listen %q: %w", o.Listen, err)
	}
	mech := strings.ToUpper(o.SASL.Mechanism)
	if !config.IsLoopback(host) && !strings.HasPrefix(mech, "SCRAM-") {
		return nil, fmt.Errorf("embedded broker: listen %q: only loopback addresses are allowed without broker.embedded.sasl (scram-sha-256 or scram-sha-512)", o.Listen)
	}
	// kfake creates its segments 0644 under 0755 directories and offers
	// no option for it: a tighter umask is the only way to keep every
	// file it writes private. The umask is process-wide, so everything
	// tajo creates from here on is 0600/0700, as data_dir requires.
	restrictUmask()
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	// Files an older tajo wrote before the umask was set.
	if err := privatize(o.DataDir); err != nil {
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
	bcfg := map[string]string{}
	if o.MaxMessageBytes > 0 {
		bcfg["message.max.bytes"] = strconv.Itoa(o.MaxMessageBytes)
	}
	if o.Retention > 0 {
		bcfg["log.retention.ms"] = strconv.FormatInt(o.Retention.Milliseconds(), 10)
	}
	if len(bcfg) > 0 {
		opts = append(opts, kfake.BrokerConfigs(bcfg))
	}
	if mech != "" {
		if o.SASL.Username == "" || o.SASL.Password == "" {
			return nil, errors.New("embedded broker: sasl needs a username and a password")
		}
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(mech, o.SASL.Username, o.SASL.Password.Reveal()))
	}
	if o.Fsync {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded broker: %w", err)
	}
	e := &Embedded{cluster: c, addrs: c.ListenAddrs(), stop: make(chan struct{}), done: make(chan struct{})}
	go e.expire(retentionEvery(o.Retention))
	return e, nil
}

// retentionEvery is how often expired records are trimmed: kfake keeps
// retention.ms as a setting and trims only when asked.
func retentionEvery(r time.Duration) time.Duration {
	if r <= 0 {
		r = 7 * 24 * time.Hour
	}
	return min(max(r/20, time.Minute), time.Hour)
}

func (e *Embedded) expire(every time.Duration) {
	defer close(e.done)
	t := time.NewTicker(every)
	defer t.Stop()
	// Not at start: records written by a tajo before the Kafka timestamp
	// was the write time carry the event's own time, and a backlog of them
	// gets one interval to be consumed before it counts as expired.
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.cluster.ApplyRetention()
		}
	}
}

// Addrs returns the bootstrap addresses to give a client.
func (e *Embedded) Addrs() []string { return e.addrs }

// Close flushes and stops the broker.
func (e *Embedded) Close() {
	close(e.stop)
	<-e.done
	e.cluster.Close()
}

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

// privatize makes dir and everything under it reachable by its owner only.
func privatize(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o600)
		if d.IsDir() {
			mode = 0o700
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		return os.Chmod(path, mode)
	})
}
