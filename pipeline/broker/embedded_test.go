package broker

import (
	"context"
	"fmt"
	"io"
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
	w := conn.NewWriter("t.events.v1", 100)
	for i := 0; i < 100; i++ {
		if err := w.WriteMessages(ctx, kafkaMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
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
	if _, err := Start(Options{Listen: "0.0.0.0:0", DataDir: t.TempDir()}); err == nil {
		t.Fatal("embedded broker listened on a non-loopback address")
	}
}

func kafkaMsg(i int) kafkago.Message {
	return kafkago.Message{Key: []byte(fmt.Sprintf("shop-%d", i%5)), Value: []byte(fmt.Sprintf("m%03d", i))}
}
