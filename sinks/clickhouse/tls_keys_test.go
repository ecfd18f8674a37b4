package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/pipelinetest"
)

// The client side of sinks.clickhouse.tls, as a TLS listener in front of
// no ClickHouse sees it: cert_file/key_file are the certificate the client
// presents, server_name the name it asks for, insecure_skip_verify accepts
// a server certificate no root trusts (without it the client refuses the
// handshake). TestServerTLS checks ca_file against a real server.
func TestTLSClientSettingsReachTheServer(t *testing.T) {
	dir := t.TempDir()
	serverCert, serverKey := pipelinetest.SelfSigned(t, dir, "clickhouse.internal")
	clientCert, clientKey := pipelinetest.SelfSigned(t, dir, "tajo-client")
	addr, handshakes := pipelinetest.RecordTLS(t, serverCert, serverKey)
	dial := func(tls TLS) pipelinetest.Handshake {
		t.Helper()
		cfg := DefaultConfig()
		cfg.DSN = "clickhouse://default:@" + addr + "/tajo_tls?dial_timeout=2s"
		cfg.Timeout = 2 * time.Second
		cfg.TLS = tls
		go func() {
			if db, err := OpenConfig(context.Background(), cfg, t.TempDir()); err == nil {
				db.Close() // no ClickHouse answers behind the handshake
			}
		}()
		select {
		case h := <-handshakes:
			return h
		case <-time.After(10 * time.Second):
			t.Fatal("the client never reached the TLS listener")
		}
		return pipelinetest.Handshake{}
	}
	h := dial(TLS{Enabled: true, CertFile: clientCert, KeyFile: clientKey, ServerName: "clickhouse.internal", InsecureSkipVerify: true})
	if h.Err != nil || h.ClientCN != "tajo-client" || h.ServerName != "clickhouse.internal" {
		t.Errorf("cert_file/key_file tajo-client, server_name clickhouse.internal, insecure_skip_verify: handshake %v, client certificate %q, server name %q",
			h.Err, h.ClientCN, h.ServerName)
	}
	if h := dial(TLS{Enabled: true, ServerName: "clickhouse.internal"}); h.Err == nil || h.ClientCN != "" {
		t.Errorf("without insecure_skip_verify or a client certificate: handshake %v, client certificate %q; want the untrusted server refused",
			h.Err, h.ClientCN)
	}
}
