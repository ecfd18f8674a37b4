package broker

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/kafka"
)

func quiet() *logrus.Entry {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return logrus.NewEntry(l)
}

// A restart of the embedded broker keeps topics, messages and committed
// offsets: the same group resumes after its last commit.
func TestRestartKeepsTopicsMessagesAndOffsets(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := func() (*Embedded, *kafka.Conn) {
		b, err := Start(Options{Listen: "127.0.0.1:0", DataDir: dir, Fsync: true, Log: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := kafka.NewConn(config.Default().Broker, b.Addrs())
		if err != nil {
			t.Fatal(err)
		}
		return b, conn
	}
	b, conn := start()
	if err := conn.EnsureTopics(ctx, kafka.Topic{Name: "t.events.v1", Partitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	p := conn.NewProducer("t.events.v1", 100, conn.MaxMessage(ctx, "t.events.v1"))
	for i := 0; i < 100; i++ {
		if errs := p.Write(ctx, []kafkago.Message{kafkaMsg(i)}); errs != nil {
			t.Fatal(errs)
		}
	}
	p.Close()
	r := conn.NewReader("t.events.v1", "g")
	seen := map[string]bool{}
	for len(seen) < 60 {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(m.Value)] = true
		if err := r.CommitMessages(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	b.Close()

	b, conn = start()
	defer b.Close()
	// Creating the topic again is not an error, and keeps its partitions.
	if err := conn.EnsureTopics(ctx, kafka.Topic{Name: "t.events.v1", Partitions: 3, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	r = conn.NewReader("t.events.v1", "g")
	defer r.Close()
	rest := map[string]bool{}
	for len(seen)+len(rest) < 100 {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("after restart, got %d of the 40 uncommitted messages: %v", len(rest), err)
		}
		if seen[string(m.Value)] {
			t.Fatalf("message %s was committed before the restart and delivered again", m.Value)
		}
		rest[string(m.Value)] = true
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	for _, s := range []config.SASL{{}, {Mechanism: "plain", Username: "u", Password: "p"}} {
		if _, err := Start(Options{Listen: "0.0.0.0:0", DataDir: t.TempDir(), SASL: s}); err == nil || !strings.Contains(err.Error(), "only loopback") {
			t.Fatalf("embedded broker listened on a non-loopback address with sasl %q: %v", s.Mechanism, err)
		}
	}
}

// Segments, indexes and state files hold customer data: after a run,
// everything under the broker's directory is 0600 (files) and 0700
// (directories), whatever the umask was and whatever an older run left.
func TestDataDirIsPrivate(t *testing.T) {
	syscall.Umask(0o022)
	dir := filepath.Join(t.TempDir(), "broker")
	os.MkdirAll(filepath.Join(dir, "old"), 0o755)
	os.WriteFile(filepath.Join(dir, "old", "segment"), []byte("x"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b, err := Start(Options{Listen: "127.0.0.1:0", DataDir: dir, Fsync: true, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := kafka.NewConn(config.Default().Broker, b.Addrs())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.EnsureTopics(ctx, kafka.Topic{Name: "t.events.v1", Partitions: 2, ReplicationFactor: 1}); err != nil {
		t.Fatal(err)
	}
	p := conn.NewProducer("t.events.v1", 100, conn.MaxMessage(ctx, "t.events.v1"))
	if errs := p.Write(ctx, []kafkago.Message{kafkaMsg(1), kafkaMsg(2)}); errs != nil {
		t.Fatal(errs)
	}
	p.Close()
	r := conn.NewReader("t.events.v1", "g")
	m, err := r.FetchMessage(ctx)
	if err == nil {
		err = r.CommitMessages(ctx, m)
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	b.Close()
	files := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := os.Stat(path)
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if files < 3 {
		t.Fatalf("only %d files under %s: the broker wrote nothing?", files, dir)
	}
}

// With broker.embedded.sasl set, a client without the password is refused
// and tajo's own client (configured from the same section) works.
func TestSASL(t *testing.T) {
	for _, mech := range []string{"scram-sha-256", "plain"} {
		t.Run(mech, func(t *testing.T) {
			auth := config.SASL{Mechanism: mech, Username: "tajo", Password: "s3cret"}
			b, err := Start(Options{Listen: "127.0.0.1:0", DataDir: t.TempDir(), SASL: auth, Log: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			bc := config.Default().Broker
			bc.Embedded.SASL = auth
			conn, err := kafka.NewConn(bc, b.Addrs())
			if err != nil {
				t.Fatal(err)
			}
			if err := conn.EnsureTopics(ctx, kafka.Topic{Name: "t.events.v1", Partitions: 1, ReplicationFactor: 1}); err != nil {
				t.Fatalf("authenticated client: %v", err)
			}
			// A client without the right password cannot create the topic
			// (tajo does not start) nor write.
			for _, bad := range []config.SASL{{}, {Mechanism: mech, Username: "tajo", Password: "wrong"}} {
				bc.Embedded.SASL = bad
				other, _ := kafka.NewConn(bc, b.Addrs())
				c, stop := context.WithTimeout(ctx, 2*time.Second)
				err := other.EnsureTopics(c, kafka.Topic{Name: "other", Partitions: 1, ReplicationFactor: 1})
				p := other.NewProducer("t.events.v1", 10, kafka.Limit{Bytes: 1 << 20})
				errs := p.Write(c, []kafkago.Message{kafkaMsg(1)})
				stop()
				p.Close()
				if err == nil || errs == nil {
					t.Fatalf("client with sasl %q/%q: create topic %v, write %v", bad.Mechanism, bad.Password.Reveal(), err, errs)
				}
			}
		})
	}
}

func kafkaMsg(i int) kafkago.Message {
	return kafkago.Message{Key: []byte(fmt.Sprintf("shop-%d", i%5)), Value: []byte(fmt.Sprintf("m%03d", i))}
}
