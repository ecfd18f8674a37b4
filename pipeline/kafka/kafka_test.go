package kafka

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/tajo/tajo/pipeline/config"
)

func TestNewConnSecurity(t *testing.T) {
	b := config.Default().Broker
	b.Brokers = []string{"k:9092"}
	c, err := NewConn(b, nil)
	if err != nil || c.TLS != nil || c.SASL != nil || c.Brokers[0] != "k:9092" {
		t.Fatalf("plain: %+v %v", c, err)
	}
	for _, m := range []string{"plain", "scram-sha-256", "SCRAM-SHA-512"} {
		b.SASL = config.SASL{Mechanism: m, Username: "u", Password: "p"}
		c, err := NewConn(b, nil)
		if err != nil || c.SASL == nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	b.SASL = config.SASL{}
	b.TLS = config.TLS{Enabled: true, CAFile: filepath.Join(t.TempDir(), "missing.pem")}
	if _, err := NewConn(b, nil); err == nil || !strings.Contains(err.Error(), "broker.tls") {
		t.Fatalf("missing CA file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	b.TLS.CAFile = bad
	if _, err := NewConn(b, nil); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Fatalf("bad CA file: %v", err)
	}
	b.TLS = config.TLS{Enabled: true, ServerName: "kafka.internal"}
	c, err = NewConn(b, []string{"127.0.0.1:1"})
	if err != nil || c.TLS == nil || c.TLS.ServerName != "kafka.internal" || c.Brokers[0] != "127.0.0.1:1" {
		t.Fatalf("tls: %+v %v", c, err)
	}
}

func TestWriterAndReaderSettings(t *testing.T) {
	c, _ := NewConn(config.Default().Broker, []string{"127.0.0.1:1"})
	w := c.newWriter("t", 250, 1000)
	if w.RequiredAcks != -1 || w.BatchSize != 250 || w.BatchBytes != 1000 || w.BatchTimeout != config.Default().Broker.BatchTimeout || w.Compression != kafkago.Lz4 {
		t.Fatalf("writer: acks %d batch %d bytes %d timeout %s compression %v", w.RequiredAcks, w.BatchSize, w.BatchBytes, w.BatchTimeout, w.Compression)
	}
	r := c.NewReader("t", "g")
	defer r.Close()
	if cfg := r.Config(); cfg.CommitInterval != 0 || cfg.GroupID != "g" {
		t.Fatalf("reader must commit explicitly: %+v", cfg)
	}
}
