package transforms

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/transforms/expression"
)

// RouteConfig is a route stage's own key (beside the shared when).
type RouteConfig struct {
	// Sinks: sink name → condition.
	Sinks map[string]string `yaml:"sinks"`
}

func buildRoute(c *chain, s Stage, when *expression.Program, path string, p *config.Problems) pipeline.Transform {
	if len(s.Sinks) == 0 {
		p.Add(config.Join(path, "sinks"), "required: sink name → condition", `e.g. {brevo: "customer.email != \"\"", clickhouse: "true"}`)
		return nil
	}
	r := &route{c: c, when: when}
	for _, name := range slices.Sorted(maps.Keys(s.Sinks)) {
		cond, err := expression.CompileCondition(s.Sinks[name])
		if err != nil {
			p.Add(config.Join(path, "sinks", name), err.Error(), "")
			continue
		}
		r.names, r.conds = append(r.names, name), append(r.conds, cond)
	}
	return r
}

// missingSink names the first sink of the route (in name order) that cfg
// does not enable, or "".
func (rc RouteConfig) missingSink(cfg *config.Config) string {
	for _, name := range slices.Sorted(maps.Keys(rc.Sinks)) {
		if cfg.Component("sinks", name) == nil {
			return name
		}
	}
	return ""
}

// route restricts delivery to the sinks whose condition holds. An event
// for which none holds is delivered nowhere and still handled.
type route struct {
	c     *chain
	when  *expression.Program
	names []string
	conds []*expression.Program
}

func (r *route) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	it, err := r.c.load(rec)
	if err != nil {
		return nil, err
	}
	env := it.environment()
	if ok, err := applies(r.when, env); !ok {
		if err != nil {
			return nil, err
		}
		return []*pipeline.Record{rec}, nil
	}
	sinks := make([]string, 0, len(r.names))
	for i, cond := range r.conds {
		ok, err := cond.Run(env)
		if err != nil {
			return nil, pipeline.Reject("expression", fmt.Errorf("sinks.%s: %w", r.names[i], err))
		}
		if ok == true && (rec.Sinks == nil || slices.Contains(rec.Sinks, r.names[i])) {
			sinks = append(sinks, r.names[i])
		}
	}
	rec.Sinks = sinks
	return []*pipeline.Record{rec}, nil
}
