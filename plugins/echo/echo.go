package echo

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/plugins"
)

func init() {
	plugins.RegisterBuiltin("echo", func() plugins.SourcePlugin { return New() })
}

// Config is the echo plugin's configuration, as JSON.
type Config struct {
	// Count is how many records the Run stream generates (numbered 0 to
	// Count-1); after them Read blocks, or returns io.EOF with EOF set.
	Count uint64 `json:"count"`
	EOF   bool   `json:"eof"`
	// Key is every record's key ("echo" when empty).
	Key string `json:"key"`
	// NoWebhooks makes Specify say the plugin takes no webhooks.
	NoWebhooks bool `json:"no_webhooks"`
}

// Plugin is the echo source plugin. Its accessors let in-process tests see
// what the host told it.
type Plugin struct {
	mu      sync.Mutex
	cfg     Config
	next    uint64
	opened  []byte
	acked   [][]byte
	done    []string
	stopped chan struct{}
	stop    sync.Once
}

// New returns an unconfigured echo plugin.
func New() *Plugin { return &Plugin{stopped: make(chan struct{})} }

var _ plugins.SourcePlugin = (*Plugin)(nil)

func (p *Plugin) Specify(context.Context) (plugins.Spec, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return plugins.Spec{
		Name: "echo", Version: "1", Summary: "test plugin: numbered records and webhook echoes",
		Webhooks:     !p.cfg.NoWebhooks,
		ConfigSchema: `{"type":"object","properties":{"count":{"type":"integer","minimum":0},"eof":{"type":"boolean"},"key":{"type":"string"},"no_webhooks":{"type":"boolean"}},"additionalProperties":false}`,
	}, nil
}

func (p *Plugin) Configure(_ context.Context, raw []byte) error {
	var c Config
	if len(raw) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("%w: echo: %v", plugins.ErrInvalidConfig, err)
		}
	}
	if c.Key == "" {
		c.Key = "echo"
	}
	p.mu.Lock()
	p.cfg = c
	p.mu.Unlock()
	plugins.Logger().Info("echo configured", "count", c.Count)
	return nil
}

// Open resumes right after position, a record number.
func (p *Plugin) Open(_ context.Context, position []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.opened = append([]byte(nil), position...)
	p.next = 0
	if len(position) == 8 {
		p.next = binary.BigEndian.Uint64(position) + 1
	} else if len(position) != 0 {
		return fmt.Errorf("echo: position %x is not a record number", position)
	}
	return nil
}

func (p *Plugin) Read(ctx context.Context) ([]plugins.Record, error) {
	p.mu.Lock()
	var out []plugins.Record
	for ; p.next < p.cfg.Count && len(out) < 10; p.next++ {
		pos := make([]byte, 8)
		binary.BigEndian.PutUint64(pos, p.next)
		out = append(out, plugins.Record{
			Key: []byte(p.cfg.Key), Value: []byte(fmt.Sprintf(`{"seq":%d}`, p.next)),
			Time: time.Unix(1_767_225_600+int64(p.next), 0).UTC(), Position: pos,
		})
	}
	eof := p.cfg.EOF
	p.mu.Unlock()
	if len(out) > 0 {
		return out, nil
	}
	if eof {
		return nil, io.EOF
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.stopped:
		return nil, io.EOF
	}
}

func (p *Plugin) Ack(_ context.Context, positions [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pos := range positions {
		p.acked = append(p.acked, append([]byte(nil), pos...))
	}
	return nil
}

func (p *Plugin) HandleWebhook(ctx context.Context, req plugins.WebhookRequest) (plugins.WebhookResponse, error) {
	if d, err := time.ParseDuration(req.Header.Get("X-Echo-Sleep")); err == nil {
		select {
		case <-ctx.Done():
			return plugins.WebhookResponse{}, ctx.Err()
		case <-time.After(d):
		}
	}
	if st, err := strconv.Atoi(req.Header.Get("X-Echo-Status")); err == nil {
		return plugins.WebhookResponse{Status: st, Body: []byte(http.StatusText(st))}, nil
	}
	n := 1
	if v, err := strconv.Atoi(req.Header.Get("X-Echo-Records")); err == nil && v >= 0 {
		n = v
	}
	p.mu.Lock()
	key := p.cfg.Key
	p.mu.Unlock()
	resp := plugins.WebhookResponse{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain"}}, Body: []byte("ok")}
	if id := req.Header.Get("X-Echo-Id"); id != "" {
		resp.Info = plugins.WebhookInfo{Shop: key, Topic: "echo", WebhookID: id, APIVersion: "1", HMAC: "valid"}
		resp.DoneToken = []byte(id)
	}
	for i := 0; i < n; i++ {
		v := req.Body
		if n > 1 {
			v = append(append([]byte(nil), req.Body...), fmt.Sprintf("#%d", i)...)
		}
		resp.Records = append(resp.Records, plugins.Record{Key: []byte(key), Value: v})
	}
	return resp, nil
}

// TestConnection has nothing to connect to; it reports the names of the
// environment variables it was given.
func (p *Plugin) TestConnection(context.Context) (string, error) {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	sort.Strings(names)
	return "environment: " + strings.Join(names, ","), nil
}

func (p *Plugin) Stop(context.Context) error {
	p.stop.Do(func() { close(p.stopped) })
	return nil
}

func (p *Plugin) Teardown(context.Context) error { return nil }

// WebhookDone records how the host answered a webhook that carried
// X-Echo-Id.
func (p *Plugin) WebhookDone(_ context.Context, token []byte, status int) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = append(p.done, fmt.Sprintf("%s=%d", token, status))
	return nil
}

// Done lists the WebhookDone calls received, as "<id>=<status>".
func (p *Plugin) Done() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.done...)
}

// Opened is the position the host last opened the plugin at.
func (p *Plugin) Opened() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]byte(nil), p.opened...)
}

// Acked lists every position the host acked, in order.
func (p *Plugin) Acked() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.acked...)
}
