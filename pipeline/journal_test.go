package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
)

// journalWriter is a stateful stage as the transforms are: it only writes
// a key per record to Env.Journal and never commits.
type journalWriter struct{ j *state.Journal }

func (w journalWriter) Process(_ context.Context, r *pipeline.Record) ([]*pipeline.Record, error) {
	w.j.Put("journal_test", string(r.Value), []byte("seen"))
	return []*pipeline.Record{r}, nil
}

// journalProbe is a sink that checks, for every record it receives, that
// the state the chain wrote for it is durable already: in the journal
// file, or folded into state.db by a checkpoint.
type journalProbe struct {
	dir   string
	st    state.Store
	mu    sync.Mutex
	got   int
	early []string
}

func (p *journalProbe) Open(context.Context) error  { return nil }
func (p *journalProbe) Close(context.Context) error { return nil }
func (p *journalProbe) Write(_ context.Context, batch []*pipeline.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range batch {
		p.got++
		journal, _ := os.ReadFile(filepath.Join(p.dir, pipeline.JournalFile))
		if bytes.Contains(journal, r.Value) {
			continue
		}
		if v, err := p.st.Get("journal_test", string(r.Value)); err == nil && v != nil {
			continue
		}
		p.early = append(p.early, string(r.Value))
	}
	return nil
}

var journalProbes sync.Map // data_dir → *journalProbe

func init() {
	pipeline.RegisterTransforms(func(cfg *config.Config, env pipeline.Env) ([]pipeline.NamedTransform, error) {
		if _, ok := journalProbes.Load(cfg.DataDir); !ok {
			return nil, nil
		}
		if env.Journal == nil {
			return nil, errors.New("no Env.Journal")
		}
		return []pipeline.NamedTransform{{Name: "journal_writer", Transform: journalWriter{env.Journal}}}, nil
	})
	pipeline.RegisterSink("journal_probe", func() any { return &struct{}{} }, func(_ any, env pipeline.Env) (pipeline.Sink, error) {
		p, ok := journalProbes.Load(env.DataDir)
		if !ok {
			return nil, errors.New("no probe for this data_dir")
		}
		p.(*journalProbe).st = env.State
		return p.(*journalProbe), nil
	})
}

// Invariant 1 for stage state: the engine commits the journal a stage
// wrote to before any record of the batch reaches a sink, and the state
// is in state.db once the runner stopped.
func TestStateIsCommittedBeforeTheSinks(t *testing.T) {
	dir := t.TempDir()
	var in strings.Builder
	const n = 50
	for i := range n {
		fmt.Fprintf(&in, `{"shop":"s%d.myshopify.com","n":%d}`+"\n", i%3, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(in.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`version: 1
data_dir: %s
server: {listen: ""}
control: {listen: ""}
broker: none
pipeline: {batch_size: 7, batch_wait: 5ms}
sources:
  file: {path: in.jsonl}
sinks:
  journal_probe: {}
`, dir)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	probe := &journalProbe{dir: dir}
	journalProbes.Store(dir, probe)
	defer journalProbes.Delete(dir)
	log := logrus.New()
	log.SetOutput(&bytes.Buffer{})
	if err := pipeline.NewRunner(cfg, log).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if probe.got != n || len(probe.early) > 0 {
		t.Fatalf("%d records reached the sink, %d before their state was durable: %v", probe.got, len(probe.early), probe.early)
	}
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var keys int
	st.View(func(tx state.Tx) error {
		return tx.ForEach("journal_test", func(_, _ []byte) error { keys++; return nil })
	})
	if keys != n {
		t.Fatalf("state.db holds %d of the %d keys after the stop (the journal's last checkpoint)", keys, n)
	}
}

// An older tajo kept the journal as transforms.journal: what it left
// there (killed before a checkpoint) is replayed, and the file taken over.
func TestOpenJournalReplaysTheLegacyFile(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old, err := state.OpenJournal(st, filepath.Join(dir, "transforms.journal"))
	if err != nil {
		t.Fatal(err)
	}
	old.Put("transforms.guard.seen", "shop\x00id", []byte("mark"))
	if err := old.Commit(); err != nil { // well within the checkpoint interval: only in the file
		t.Fatal(err)
	}
	if v, _ := st.Get("transforms.guard.seen", "shop\x00id"); v != nil {
		t.Fatal("the commit was checkpointed already; the test needs it only in the journal")
	}
	// No Close: the old process was killed.

	j, err := pipeline.OpenJournal(st, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if v, _ := j.Get("transforms.guard.seen", "shop\x00id"); string(v) != "mark" {
		t.Fatalf("the legacy journal's entry = %q, want mark", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "transforms.journal")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the legacy journal is still there: %v", err)
	}
}
