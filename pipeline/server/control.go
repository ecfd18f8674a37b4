package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ControlTokenFile is the file under data_dir that holds the generated
// control token when control.token is empty.
const ControlTokenFile = "control.token"

// controlWriteTimeout bounds writing one control answer. It is longer than
// the webhook listener's: a history query may run for minutes (its own
// limits bound it).
const controlWriteTimeout = 10 * time.Minute

// NewControl returns the control listener: everything that must not face
// Shopify (history queries, /status, admin actions) is mounted on its Mux,
// and every request must carry `Authorization: Bearer <token>` (401
// otherwise), a Host that is an IP address, localhost or the listen host
// with the bound port, and no Origin but its own (403 otherwise: a web page
// the operator visits cannot reach it, even through DNS rebinding).
func NewControl(addr, token string, readTimeout time.Duration, status func() any) *Server {
	s := newServer("control.listen", addr, readTimeout, controlWriteTimeout)
	s.status = status
	s.token = sha256.Sum256([]byte(token))
	s.srv.Handler = http.HandlerFunc(s.guard)
	s.Mux.HandleFunc("GET /healthz", healthz)
	s.Mux.HandleFunc("GET /status", s.serveStatus)
	return s
}

// guard admits a request to the control Mux.
func (s *Server) guard(w http.ResponseWriter, r *http.Request) {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if got := sha256.Sum256([]byte(strings.TrimSpace(auth))); !ok || subtle.ConstantTimeCompare(got[:], s.token[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tajo control"`)
		http.Error(w, "unauthorized: the control API needs Authorization: Bearer <token> "+
			"(control.token, or the token tajo generated in data_dir/"+ControlTokenFile+")", http.StatusUnauthorized)
		return
	}
	if !s.hostAllowed(r.Host) {
		http.Error(w, fmt.Sprintf("forbidden: Host %q is not this control listener", r.Host), http.StatusForbidden)
		return
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
		http.Error(w, fmt.Sprintf("forbidden: requests from the web origin %q are not accepted", o), http.StatusForbidden)
		return
	}
	s.Mux.ServeHTTP(w, r)
}

// hostAllowed accepts a Host header naming the bound port and, as host, an
// IP address (which DNS cannot rebind), localhost, or the host control.listen
// names.
func (s *Server) hostAllowed(host string) bool {
	h, port, err := net.SplitHostPort(host)
	if err != nil {
		h, port = host, "80"
	}
	if bound, _ := s.port.Load().(string); port != bound {
		return false
	}
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	if net.ParseIP(h) != nil || h == "localhost" {
		return true
	}
	want, _, _ := net.SplitHostPort(s.srv.Addr)
	return want != "" && h == strings.ToLower(want)
}

// sameOrigin reports whether a browser's Origin header is the listener's
// own (a page it served itself).
func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, host)
}

// ControlToken returns the control token: configured when set, else the
// one in data_dir/control.token, generated there (mode 0600) on first use
// and reused by later runs and by the CLI.
func ControlToken(dataDir, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	path := filepath.Join(dataDir, ControlTokenFile)
	if tok, err := ReadControlToken(dataDir); err == nil {
		// A token others can read is no secret: keep it to tajo's user.
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("control token %s: %w", path, err)
		}
		return tok, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	_ = os.Remove(path) // an empty one
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(b)
	tmp, err := os.CreateTemp(dataDir, ControlTokenFile+".*")
	if err != nil {
		return "", fmt.Errorf("control token: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(tok + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Link, not rename: if another process wrote one meanwhile, keep it.
		if err = os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
			return ReadControlToken(dataDir)
		}
	}
	if err != nil {
		return "", fmt.Errorf("control token %s: %w", path, err)
	}
	return tok, nil
}

// ReadControlToken reads data_dir/control.token without creating it (the
// CLI's side); an error wrapping fs.ErrNotExist means no tajo generated one
// there yet.
func ReadControlToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, ControlTokenFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("control token %s is empty: %w", path, fs.ErrNotExist)
	}
	return tok, nil
}
