package transforms

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/pipeline/state"
	"github.com/tajo/tajo/transforms/expression"
)

func init() {
	config.RegisterSection("transforms", NewConfig)
	config.RegisterSection("field_mapping", NewFieldMapping)
	config.RegisterSection("tests", NewTests)
	pipeline.RegisterTransforms(Build)
}

// Skip reasons, as the sync history records them.
const (
	SkipDuplicate     = "duplicate"
	SkipStale         = "stale"
	SkipFiltered      = "filtered"
	SkipProductFilter = "product_filter"
)

var counts sync.Map // reason → *atomic.Int64

// SkipCounts returns how many events the chains of this process skipped,
// by reason, since it started.
func SkipCounts() map[string]int64 {
	out := map[string]int64{}
	counts.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// chain is what the stages of one pipeline share: the state (the engine's
// journal, pipeline.Env.Journal), the settings, and the compiled field
// mapping.
type chain struct {
	store        *state.Journal
	settings     *settings
	fieldMapping *FieldMapping
	log          *logrus.Entry
	now          func() time.Time
	bufs         sync.Pool
	// batchCommit: the engine commits the journal once per batch, so
	// stages do not commit it per record.
	batchCommit bool
}

// commitRecord makes one record's state changes durable unless the engine
// commits the whole batch (pipeline.JournalStage).
func (c *chain) commitRecord() error {
	if c.batchCommit {
		return nil
	}
	return c.store.Commit()
}

func (c *chain) scratch() *[]byte {
	if b, ok := c.bufs.Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 0, 256)
	return &b
}

func (c *chain) release(b *[]byte) { c.bufs.Put(b) }

// skip drops a record on purpose: it returns the engine's skip error,
// which counts the record as handled and writes "skipped" with the reason
// to the sync history.
func (c *chain) skip(it *item, stage, reason, detail string) error {
	v, _ := counts.LoadOrStore(reason, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if c.log != nil && c.log.Logger.IsLevelEnabled(logrus.DebugLevel) {
		c.log.WithFields(logrus.Fields{"stage": stage, "shop": it.ev.Shop, "event_id": it.ev.ID, "reason": reason}).Debug("skipped: " + detail)
	}
	return pipeline.Skip(reason + ": " + detail)
}

// Options tune a chain built outside the runner (tests, benchmarks).
type Options struct {
	// Now replaces the wall clock.
	Now func() time.Time
	// Memory keeps state in memory only, as tajo test does.
	Memory bool
	// BatchCommit leaves the journal write to the engine, which commits
	// once per batch before any record of it reaches a sink (the chain's
	// last stage, pipeline.JournalStage, as a BatchFlusher); without it
	// every Process call commits (tests that call Process directly).
	BatchCommit bool
}

// Build is the pipeline.TransformBuilder: the configured chain, or guard →
// aggregates → the default contact mapping when transforms.stages is
// empty.
func Build(cfg *config.Config, env pipeline.Env) ([]pipeline.NamedTransform, error) {
	// The runner's clock (nil: the wall clock), so the RECENCY the
	// mapping computes is the one the sweep's simulated day sees.
	return BuildWith(cfg, env, Options{BatchCommit: true, Now: env.Now})
}

// BuildWith is Build with options.
func BuildWith(cfg *config.Config, env pipeline.Env, o Options) ([]pipeline.NamedTransform, error) {
	tc, _ := cfg.Sections["transforms"].(*Config)
	if tc == nil {
		tc = NewConfig().(*Config)
	}
	fm, _ := cfg.Sections["field_mapping"].(*FieldMapping)
	if fm == nil {
		fm = NewFieldMapping().(*FieldMapping)
	}
	c := &chain{settings: newSettings(tc), fieldMapping: fm, log: env.Log, now: o.Now, batchCommit: o.BatchCommit}
	if c.now == nil {
		c.now = time.Now
	}
	var err error
	var own bool // the chain opened the journal: it ends with the stage that commits and closes it
	switch {
	case o.Memory || env.Journal == nil && env.State == nil:
		c.store = state.NewMemoryJournal()
	case env.Journal != nil:
		c.store = env.Journal // the runner's: it commits and closes it
	case env.DataDir == "":
		return nil, errors.New("transforms: state needs a data directory")
	default:
		// Outside the runner (tests, benchmarks) over a bare store.
		if c.store, err = pipeline.OpenJournal(env.State, env.DataDir); err != nil {
			return nil, err
		}
		own = true
	}
	stages := tc.stages()
	if comp := cfg.Component("connectors", "shopify"); comp != nil {
		if ps, ok := comp.Spec.(ProductSettings); ok {
			stages = withConnectorProducts(stages, ps)
		}
	}
	var out []pipeline.NamedTransform
	for i, s := range stages {
		if s.Type == StageRoute && !o.Memory && cfg.Components != nil {
			if name := s.RouteConfig.missingSink(cfg); name != "" {
				return nil, fmt.Errorf("transforms.stages[%d].sinks.%s: no enabled sink of that name", i, name)
			}
		}
		p := &config.Problems{}
		t := buildStage(c, s, config.Join("transforms.stages", i), p)
		if err := p.Err(); err != nil || t == nil {
			return nil, fmt.Errorf("transforms.stages[%d] (%s): %v", i, s.Name, err)
		}
		if g, ok := t.(*guard); ok {
			g.window = tc.DedupeWindow
			for _, later := range stages[i+1:] {
				if later.Type == StageAggregates {
					g.deferCommit = true
				}
			}
		}
		out = append(out, pipeline.NamedTransform{Name: s.Name, Transform: t})
	}
	if own {
		out = append(out, pipeline.JournalStage(c.store))
	}
	return out, nil
}

// buildStage compiles one stage: its when, then what its type reads. With
// c == nil it only validates, reporting each expression's problem at its
// own path; a stage with a problem is nil.
func buildStage(c *chain, s Stage, path string, p *config.Problems) pipeline.Transform {
	before := len(p.List())
	var when *expression.Program
	if s.When != "" {
		var err error
		if when, err = expression.CompileCondition(s.When); err != nil {
			p.Add(config.Join(path, "when"), err.Error(), "")
		}
	}
	t, ok := typeOf(s.Type)
	if !ok {
		p.Add(config.Join(path, "type"), fmt.Sprintf("unknown stage type %q", s.Type), "")
		return nil
	}
	st := t.build(c, s, when, path, p)
	if len(p.List()) > before || st == nil {
		return nil
	}
	return st
}

// applies reports whether a stage's when holds for env (always, without
// one); a when that fails rejects the record.
func applies(when *expression.Program, env *expression.Env) (bool, error) {
	if when == nil {
		return true, nil
	}
	ok, err := when.Run(env)
	if err != nil {
		return false, pipeline.Reject("expression", fmt.Errorf("when: %w", err))
	}
	return ok == true, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(s)) {
			return true
		}
	}
	return false
}
