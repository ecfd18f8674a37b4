package transforms

import (
	"context"
	"fmt"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/transforms/expression"
)

// FilterConfig is a filter stage's own key.
type FilterConfig struct {
	// Condition: events for which it is false are dropped.
	Condition string `yaml:"condition"`
}

func buildFilter(c *chain, s Stage, _ *expression.Program, path string, p *config.Problems) pipeline.Transform {
	cond, err := expression.CompileCondition(s.Condition)
	if err != nil {
		p.Add(config.Join(path, "condition"), err.Error(), "e.g. event.type != \"cart_updated\"")
		return nil
	}
	return &filter{c: c, name: s.Name, cond: cond}
}

// filter drops events whose condition is false; they count as handled.
type filter struct {
	c    *chain
	name string
	cond *expression.Program
}

func (f *filter) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	it, err := f.c.load(rec)
	if err != nil {
		return nil, err
	}
	ok, err := f.cond.Run(it.environment())
	if err != nil {
		return nil, pipeline.Reject("expression", fmt.Errorf("condition: %w", err))
	}
	if ok == true {
		return []*pipeline.Record{rec}, nil
	}
	return nil, f.c.skip(it, f.name, SkipFiltered, "condition is false: "+f.cond.Source())
}
