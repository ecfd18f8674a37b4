package chtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

// RequireEnv, set to 1, turns a missing server binary or chDB library into a
// test failure instead of a skip.
const RequireEnv = "TAJO_REQUIRE_CLICKHOUSE"

// InstallHint says how to get a server binary.
const InstallHint = "install it with scripts/clickhouse-server.sh (apt-get install -y clickhouse-server), " +
	"or set CLICKHOUSE_SERVER_BIN to a clickhouse or clickhouse-server binary"

// Required reports whether RequireEnv is set.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Binary finds a server: $CLICKHOUSE_SERVER_BIN, then clickhouse-server
// (Debian's package) or clickhouse (the single upstream binary, run as
// `clickhouse server`) on PATH or in /usr/sbin and /usr/bin.
func Binary() (path string, args []string, err error) {
	cands := []string{}
	if p := os.Getenv("CLICKHOUSE_SERVER_BIN"); p != "" {
		cands = append(cands, p)
	}
	for _, name := range []string{"clickhouse-server", "clickhouse"} {
		if p, err := exec.LookPath(name); err == nil {
			cands = append(cands, p)
		}
		cands = append(cands, "/usr/sbin/"+name, "/usr/bin/"+name)
	}
	for _, p := range cands {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			if filepath.Base(p) == "clickhouse" {
				return p, []string{"server"}, nil
			}
			return p, nil, nil
		}
	}
	return "", nil, errors.New("no clickhouse-server binary found: " + InstallHint)
}

// Server is a running child clickhouse-server.
type Server struct {
	Dir  string // holds config.xml, users.xml, data/, logs
	Port int    // native protocol, on 127.0.0.1
	// SecurePort is the native protocol over TLS, with a self-signed
	// certificate for 127.0.0.1 whose PEM is CAFile.
	SecurePort int
	CAFile     string

	bin  string
	args []string
	cmd  *exec.Cmd
	exit chan error
}

// Start writes a config into dir (created if needed) and starts a server on
// a free loopback port, waiting until it answers a ping.
func Start(dir string) (*Server, error) {
	bin, args, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	secure, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Port: port, SecurePort: secure, CAFile: filepath.Join(dir, "server.crt"), bin: bin, args: args}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

// DSN of database db on this server.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("clickhouse://default:@127.0.0.1:%d/%s?dial_timeout=2s", s.Port, db)
}

// SecureDSN of database db on the TLS port; the client must trust CAFile.
func (s *Server) SecureDSN(db string) string {
	return fmt.Sprintf("clickhouse://default:@127.0.0.1:%d/%s?dial_timeout=2s", s.SecurePort, db)
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 20 s) and waits.
func (s *Server) Stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exit:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exit
	}
	s.cmd = nil
	return nil
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart() error {
	if s.cmd != nil {
		return errors.New("chtest: server is running")
	}
	return s.start()
}

// Logs returns the tail of the server's error log, for failure messages.
func (s *Server) Logs() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.err.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	out, _ := os.ReadFile(filepath.Join(s.Dir, "stdout.log"))
	if len(out) > 2000 {
		out = out[len(out)-2000:]
	}
	return string(out) + string(b)
}

func (s *Server) start() error {
	out, err := os.OpenFile(filepath.Join(s.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	defer out.Close()
	args := append(append([]string{}, s.args...), "--config-file="+filepath.Join(s.Dir, "config.xml"))
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.Dir
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so a test's Ctrl-C is handled by the test
	// (which stops the server) rather than killing the server mid-write.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.cmd, s.exit = cmd, make(chan error, 1)
	go func() { s.exit <- cmd.Wait() }()
	if err := s.wait(60 * time.Second); err != nil {
		_ = s.Stop()
		return fmt.Errorf("%w\n%s", err, s.Logs())
	}
	return nil
}

func (s *Server) wait(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exit:
			s.exit <- err
			return fmt.Errorf("clickhouse-server exited during startup: %v", err)
		default:
		}
		opts, _ := ch.ParseDSN(s.DSN("default"))
		conn, err := ch.Open(opts)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = conn.Ping(ctx)
			cancel()
			conn.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("clickhouse-server on port %d not ready after %s: %v", s.Port, limit, last)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeConfig writes a config that 18.16 and current servers both accept:
// only the native port, on 127.0.0.1, no HTTP, interserver or cluster
// settings, small caches, UTC.
func (s *Server) writeConfig() error {
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o750); err != nil {
			return err
		}
	}
	if err := writeCert(filepath.Join(s.Dir, "server.crt"), filepath.Join(s.Dir, "server.key")); err != nil {
		return err
	}
	r := strings.NewReplacer("{dir}", s.Dir, "{port}", strconv.Itoa(s.Port), "{secure_port}", strconv.Itoa(s.SecurePort))
	if err := os.WriteFile(filepath.Join(s.Dir, "config.xml"), []byte(r.Replace(configXML)), 0o640); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.Dir, "users.xml"), []byte(usersXML), 0o640)
}

const configXML = `<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{dir}/server.log</log>
        <errorlog>{dir}/server.err.log</errorlog>
        <size>10M</size>
        <count>1</count>
    </logger>
    <tcp_port>{port}</tcp_port>
    <tcp_port_secure>{secure_port}</tcp_port_secure>
    <openSSL>
        <server>
            <certificateFile>{dir}/server.crt</certificateFile>
            <privateKeyFile>{dir}/server.key</privateKeyFile>
            <verificationMode>none</verificationMode>
            <loadDefaultCAFile>false</loadDefaultCAFile>
            <cacheSessions>true</cacheSessions>
            <disableProtocols>sslv2,sslv3</disableProtocols>
            <preferServerCiphers>true</preferServerCiphers>
        </server>
    </openSSL>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>64</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>50</max_concurrent_queries>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>{dir}/data/</path>
    <tmp_path>{dir}/tmp/</tmp_path>
    <user_files_path>{dir}/user_files/</user_files_path>
    <format_schema_path>{dir}/format_schemas/</format_schema_path>
    <users_config>{dir}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
`

const usersXML = `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
`
