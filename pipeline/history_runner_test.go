package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/generator"
)

// historyProbe is a history sink that counts what reaches it: the entries
// each event arrives in, the decodes it does (one per entry), the outcomes
// filed under each event, and any call of Write, which a history sink
// must not get.
type historyProbe struct {
	mu       sync.Mutex
	entries  map[string]int            // event id → entries received
	own      map[string]int            // event id → entries with its own copy
	outcomes map[string]map[string]int // event id → stage → outcomes
	decodes  int
	writes   int
	checks   []pipeline.ConnectionCheck
}

func newHistoryProbe() *historyProbe {
	return &historyProbe{entries: map[string]int{}, own: map[string]int{}, outcomes: map[string]map[string]int{}}
}

func (h *historyProbe) Open(context.Context) error  { return nil }
func (h *historyProbe) Close(context.Context) error { return nil }
func (h *historyProbe) Write(context.Context, []*pipeline.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes++
	return nil
}

func (h *historyProbe) RecordHistory(_ context.Context, entries []pipeline.HistoryEntry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range entries {
		h.decodes++
		ev, err := schemas.DecodeEvent(e.Record.Value)
		if err != nil {
			return pipeline.Stop(err)
		}
		h.entries[ev.ID]++
		if e.Own {
			h.own[ev.ID]++
		}
		if h.outcomes[ev.ID] == nil {
			h.outcomes[ev.ID] = map[string]int{}
		}
		for _, o := range e.Outcomes {
			h.outcomes[ev.ID][o.Stage+"/"+o.Result]++
		}
	}
	return nil
}

func (h *historyProbe) LogWebhooks(context.Context, []pipeline.WebhookLog) error { return nil }

func (h *historyProbe) RecordChecks(_ context.Context, cs []pipeline.ConnectionCheck) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, cs...)
	return nil
}

// checkingSink delivers everything and reports a connection check in
// Open, as the Brevo sink does with its key.
type checkingSink struct{ env pipeline.Env }

func (s *checkingSink) Open(context.Context) error {
	s.env.Checks.ReportCheck(pipeline.ConnectionCheck{Service: "probe", OK: true, Detail: "key accepted"})
	return nil
}
func (s *checkingSink) Close(context.Context) error                     { return nil }
func (s *checkingSink) Write(context.Context, []*pipeline.Record) error { return nil }

var (
	probeMu    sync.Mutex
	probe      *historyProbe
	probeHooks pipeline.WebhookLogger // what the source was handed as Env.Webhooks
)

func init() {
	pipeline.RegisterSink("history_probe", func() any { return &struct{}{} }, func(any, pipeline.Env) (*historyProbe, error) {
		probeMu.Lock()
		defer probeMu.Unlock()
		return probe, nil
	})
	pipeline.RegisterSink("checking", func() any { return &struct{}{} }, func(_ any, env pipeline.Env) (pipeline.Sink, error) {
		return &checkingSink{env: env}, nil
	})
	pipeline.RegisterSource("hooked_generator", generator.NewConfig, func(spec any, env pipeline.Env) (pipeline.Source, error) {
		probeMu.Lock()
		probeHooks = env.Webhooks
		probeMu.Unlock()
		return generator.New(*spec.(*generator.Config), env.Positions(), "sources."+env.Name), nil
	})
}

// The sink history.sink names gets each record once, after the other
// sinks, with one outcome per other sink, and never through Write; the
// webhook log and the connection checks go to it too. Every record is
// acked (a second run has nothing left).
func TestHistorySinkGetsEachRecordOnce(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: none
history: {sink: history_probe}
sources:
  hooked_generator: {count: 1000, rate: 0}
sinks:
  history_probe: {}
  reject_tenth: {}
  checking: {}
`, dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h := newHistoryProbe()
	probeMu.Lock()
	probe = h
	probeMu.Unlock()
	rejectSink.delivered = nil
	t.Cleanup(func() { rejectSink.delivered = nil }) // shared with TestRunnerDeadLettersRejectedRecordsToFile
	log := logrus.New()
	log.SetOutput(io.Discard)
	if err := pipeline.NewRunner(cfg, log).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.writes != 0 {
		t.Errorf("the history sink got %d Write calls besides its entries", h.writes)
	}
	if len(h.entries) != 1000 || h.decodes != 1000 {
		t.Fatalf("%d events in %d entries (decodes), want 1000 in 1000", len(h.entries), h.decodes)
	}
	rejected := 0
	for id, n := range h.entries {
		outs := h.outcomes[id]
		if n != 1 || h.own[id] != 1 || outs["checking/delivered"] != 1 || outs["reject_tenth/delivered"]+outs["reject_tenth/rejected"] != 1 || len(outs) != 2 {
			t.Fatalf("event %s: %d entries (%d own), outcomes %v; want 1 own entry with one outcome per other sink", id, n, h.own[id], outs)
		}
		rejected += outs["reject_tenth/rejected"]
	}
	if rejected != 100 {
		t.Errorf("%d rejections in the history, want 100", rejected)
	}
	if len(h.checks) != 1 || h.checks[0].Service != "probe" {
		t.Errorf("connection checks %+v, want the checking sink's one", h.checks)
	}
	probeMu.Lock()
	hooks := probeHooks
	probeMu.Unlock()
	if hooks != pipeline.WebhookLogger(h) {
		t.Errorf("the source's webhook log is %T, want the history sink", hooks)
	}

	h.entries = map[string]int{}
	h.mu.Unlock()
	err = pipeline.NewRunner(cfg, log).Run(context.Background())
	h.mu.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.entries) != 0 {
		t.Fatalf("a second run handed %d records to the history again: they were not acked", len(h.entries))
	}
}

// history.sink must name an enabled sink that can keep the history; the
// run refuses the same as validate.
func TestHistorySinkMustKeepHistory(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"history: {sink: checking}\nsinks: {checking: {}}", `history.sink: sink "checking" cannot keep the sync history (enable a sink that can (history_probe) under sinks:, or remove history.sink to keep no history)`},
		{"history: {sink: history_probe}\nsinks: {checking: {}}", `history.sink: "history_probe" is not an enabled sink`},
		{"history: {sink: checking}\nsinks: {checking: {}, history_probe: {}}", `history.sink: sink "checking" cannot keep the sync history (name an enabled sink that can: history_probe)`},
		{"dead_letter: {sink: checking}\nsinks: {checking: {}}", `dead_letter.sink: sink "checking" cannot store dead letters`},
	} {
		_, err := config.Parse([]byte(fmt.Sprintf("version: 1\ndata_dir: %s\nbroker: none\nsources: {generator: {count: 1}}\n%s\n", t.TempDir(), c.yaml)), func(string) (string, bool) { return "", false })
		var ce *config.Error
		if !errors.As(err, &ce) || !containsProblem(ce, c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.yaml, err, c.want)
		}
	}
}

func containsProblem(ce *config.Error, want string) bool {
	for _, p := range ce.Problems {
		if s := p.String(); len(s) >= len(want) && s[:len(want)] == want {
			return true
		}
	}
	return false
}
