package generator

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/schemas"
)

// Config is `sources.generator`.
type Config struct {
	// Count is how many events to generate; 0 generates until stopped.
	Count int64 `yaml:"count"`
	// Rate caps events per second; 0 is as fast as the pipeline takes them.
	Rate float64 `yaml:"rate"`
	// Shops are the shop domains events are spread over (round robin).
	Shops []string `yaml:"shops"`
	// Seed makes different runs produce different (but still
	// deterministic) events.
	Seed int64 `yaml:"seed"`
	// Customers is how many distinct customers events are about.
	Customers int64 `yaml:"customers"`
}

// NewConfig returns the defaults.
func NewConfig() any {
	return &Config{Count: 1000, Shops: []string{"demo-store.myshopify.com"}, Seed: 1, Customers: 1000}
}

// Validate implements config.Validatable.
func (c *Config) Validate(p *config.Problems, path string) {
	if c.Count < 0 {
		p.Add(config.Join(path, "count"), "must not be negative", "0 generates until stopped")
	}
	if c.Rate < 0 {
		p.Add(config.Join(path, "rate"), "must not be negative", "0 is unlimited")
	}
	if len(c.Shops) == 0 {
		p.Add(config.Join(path, "shops"), "needs at least one shop domain", `e.g. ["demo-store.myshopify.com"]`)
	}
	for i, s := range c.Shops {
		if s == "" {
			p.Add(config.Join(path, "shops", i), "must not be empty", "")
		}
	}
	if c.Customers <= 0 {
		p.Add(config.Join(path, "customers"), "must be positive", "")
	}
}

func init() {
	pipeline.RegisterSource("generator", NewConfig, func(spec any, env pipeline.Env) (pipeline.Source, error) {
		return New(*spec.(*Config), env.Positions(), "sources."+env.Name), nil
	})
}

// Source generates events.
type Source struct {
	cfg    Config
	st     state.Positions
	bucket string
	next   int64 // next event number to generate
	start  time.Time
	sent   int64 // generated in this run, for pacing
}

// New returns a generator persisting its position in st under bucket.
func New(cfg Config, st state.Positions, bucket string) *Source {
	return &Source{cfg: cfg, st: st, bucket: bucket}
}

const posKey = "next"

// Open resumes after the last acked event.
func (s *Source) Open(context.Context) error {
	if s.st != nil {
		b, err := s.st.Get(s.bucket, posKey)
		if err != nil {
			return err
		}
		if len(b) == 8 {
			s.next = int64(binary.BigEndian.Uint64(b))
		}
	}
	s.start = time.Now()
	return nil
}

// Read generates up to max events, pacing them to Rate.
func (s *Source) Read(ctx context.Context, max int) ([]*pipeline.Record, error) {
	if s.cfg.Count > 0 && s.next >= s.cfg.Count {
		return nil, io.EOF
	}
	n := int64(max)
	if s.cfg.Count > 0 {
		n = min(n, s.cfg.Count-s.next)
	}
	if s.cfg.Rate > 0 {
		// Release events no faster than Rate: wait until the first one is due
		// and only take those due by then.
		due := s.start.Add(time.Duration(float64(s.sent) / s.cfg.Rate * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		allowed := int64(time.Since(s.start).Seconds()*s.cfg.Rate) - s.sent + 1
		n = max64(1, min(n, allowed))
	}
	out := make([]*pipeline.Record, n)
	now := time.Now().UTC()
	for i := range out {
		seq := s.next + int64(i)
		ev := Event(s.cfg, seq)
		// Everything but the receive time is a function of seq; that one is
		// real, so latency figures downstream mean something.
		ev.ReceivedAt = now
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		pos := make(pipeline.Position, 8)
		binary.BigEndian.PutUint64(pos, uint64(seq))
		out[i] = &pipeline.Record{Key: []byte(ev.Shop), Value: b, Time: ev.OccurredAt, Position: pos}
	}
	s.next += n
	s.sent += n
	return out, nil
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// Ack persists the position after the last acked event.
func (s *Source) Ack(_ context.Context, positions []pipeline.Position) error {
	if s.st == nil || len(positions) == 0 {
		return nil
	}
	last := binary.BigEndian.Uint64(positions[len(positions)-1])
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], last+1)
	return s.st.Save(s.bucket, posKey, b[:])
}

// Close implements pipeline.Source.
func (s *Source) Close(context.Context) error { return nil }

var types = []struct{ typ, topic, kind string }{
	{"customer_updated", "customers/update", "customer"},
	{"order_placed", "orders/create", "order"},
	{"cart_updated", "carts/update", "cart"},
	{"customer_created", "customers/create", "customer"},
}

var firstNames = []string{"Ada", "Zoë", "José", "Ngozi", "Hiroshi", "Søren", "Amélie", "Łukasz"}

// ID is the id of event number seq.
func ID(cfg Config, seq int64) string {
	return schemas.NewID("generator", strconv.FormatInt(cfg.Seed, 10), strconv.FormatInt(seq, 10))
}

// Event returns event number seq: the same for the same config, always.
func Event(cfg Config, seq int64) *schemas.Event {
	t := types[seq%int64(len(types))]
	cust := (seq*7919 + cfg.Seed) % cfg.Customers
	custID := 7_000_000_000_000 + cust
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := base.Add(time.Duration(seq) * time.Second)
	entityID := strconv.FormatInt(custID, 10)
	var data string
	switch t.kind {
	case "customer":
		data = fmt.Sprintf(`{"id":%d,"email":"customer-%d@example.com","first_name":%q,"last_name":"Example","updated_at":%q}`,
			custID, cust, firstNames[cust%int64(len(firstNames))], at.Format(time.RFC3339))
	case "order":
		entityID = strconv.FormatInt(9_000_000_000_000+seq, 10)
		data = fmt.Sprintf(`{"id":%s,"customer":{"id":%d,"email":"customer-%d@example.com"},"total_price":"%d.%02d","currency":"EUR","created_at":%q}`,
			entityID, custID, cust, 10+seq%190, seq%100, at.Format(time.RFC3339))
	default:
		entityID = fmt.Sprintf("cart-%d", seq)
		data = fmt.Sprintf(`{"token":%q,"line_items":[{"product_id":%d,"quantity":%d}],"updated_at":%q}`,
			entityID, 8_000_000_000_000+seq%500, 1+seq%3, at.Format(time.RFC3339))
	}
	return &schemas.Event{
		Schema:     schemas.EventSchema,
		ID:         ID(cfg, seq),
		Source:     "generator",
		Shop:       cfg.Shops[seq%int64(len(cfg.Shops))],
		Topic:      t.topic,
		Type:       t.typ,
		OccurredAt: at,
		ReceivedAt: at,
		Entity:     schemas.Entity{Kind: t.kind, ID: entityID},
		Data:       json.RawMessage(data),
	}
}
