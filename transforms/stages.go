package transforms

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// buildStage compiles one stage. With c == nil it only validates,
// reporting each expression's problem at its own path.
func buildStage(c *chain, s Stage, path string, p *config.Problems) (pipeline.Transform, error) {
	if p == nil {
		p = &config.Problems{}
	}
	before := len(p.List())
	var when *expression.Program
	if s.When != "" {
		var err error
		if when, err = expression.CompileCondition(s.When); err != nil {
			p.Add(config.Join(path, "when"), err.Error(), "")
		}
	}
	var t pipeline.Transform
	switch s.Type {
	case StageGuard:
		t = &guard{c: c}
	case StageAggregates:
		t = &aggregates{c: c}
	case StageMap:
		if s.Fields.Kind != yaml.MappingNode {
			p.Add(config.Join(path, "fields"), "required: a mapping of target key → expression", `e.g. {FIRSTNAME: customer.first_name}`)
			break
		}
		var ms []mapping
		for i := 0; i+1 < len(s.Fields.Content); i += 2 {
			ms = append(ms, mapping{target: s.Fields.Content[i].Value, src: s.Fields.Content[i+1].Value})
		}
		t = newMapStage(c, ms, when, config.Join(path, "fields"), p)
	case StageFieldMapping:
		var fm *FieldMapping
		if c != nil {
			fm = c.fieldMapping
		} else {
			fm = NewFieldMapping().(*FieldMapping) // the section validates itself
		}
		st := newMapStage(c, fm.fields(), when, "field_mapping", &config.Problems{})
		st.contactOnly = when == nil
		t = st
	case StageFilter:
		cond, err := expression.CompileCondition(s.Condition)
		if err != nil {
			p.Add(config.Join(path, "condition"), err.Error(), "e.g. event.type != \"cart_updated\"")
			break
		}
		t = &filter{c: c, name: s.Name, cond: cond}
	case StageRoute:
		if len(s.Sinks) == 0 {
			p.Add(config.Join(path, "sinks"), "required: sink name → condition", `e.g. {brevo: "customer.email != \"\"", clickhouse: "true"}`)
			break
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
		t = r
	case StageProductFilter:
		for i, st := range s.Products.Filter.Status {
			p.OneOf(config.Join(path, "products", "filter", "status", i), st, "active", "draft", "archived", "unlisted")
		}
		t = &productFilter{c: c, name: s.Name, cfg: s.Products}
	}
	if len(p.List()) > before {
		return nil, nil
	}
	return t, nil
}

// mapStage computes target keys from expressions.
type mapStage struct {
	c     *chain
	when  *expression.Program
	progs []*expression.Program
	keys  []string
	// contactOnly restricts the stage to events about a customer; the
	// default contact mapping makes no sense for a product.
	contactOnly bool
}

func newMapStage(c *chain, ms []mapping, when *expression.Program, path string, p *config.Problems) *mapStage {
	st := &mapStage{c: c, when: when}
	for _, m := range ms {
		prog, err := expression.Compile(m.src)
		if err != nil {
			p.Add(config.Join(path, m.target), err.Error(), "")
			continue
		}
		st.keys, st.progs = append(st.keys, m.target), append(st.progs, prog)
	}
	return st
}

func (m *mapStage) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	it, err := m.c.load(rec)
	if err != nil {
		return nil, err
	}
	if m.contactOnly && it.customer == nil {
		return []*pipeline.Record{rec}, nil
	}
	env := it.environment()
	if m.when != nil {
		ok, err := m.when.Run(env)
		if err != nil {
			return nil, pipeline.Reject("expression", fmt.Errorf("when: %w", err))
		}
		if ok != true {
			return []*pipeline.Record{rec}, nil
		}
	}
	buf := m.c.scratch()
	defer m.c.release(buf)
	for i, prog := range m.progs {
		key := m.keys[i]
		v, err := prog.Run(env)
		if err != nil {
			return nil, pipeline.Reject("expression", fmt.Errorf("%s: %w", key, err))
		}
		if err := it.assign(key, v, buf); err != nil {
			return nil, pipeline.Reject("invalid_value", fmt.Errorf("%s: %w", key, err))
		}
	}
	it.out.touched = true
	if err := it.write(rec); err != nil {
		return nil, err
	}
	return []*pipeline.Record{rec}, nil
}

// assign stores one result: identifiers and consent by their lower-case
// names, everything else as an attribute.
func (it *item) assign(key string, v any, buf *[]byte) error {
	switch key {
	case "email", "ext_id", "phone", "email_consent", "sms_consent":
		s, err := textOf(v)
		if err != nil {
			return err
		}
		switch key {
		case "email":
			it.out.ident.Email = s
		case "ext_id":
			it.out.ident.ExtID = s
		case "phone":
			it.out.ident.Phone = s
		case "email_consent":
			it.out.consent.Email = consentState(s)
		case "sms_consent":
			it.out.consent.SMS = consentState(s)
		}
		return nil
	}
	b, ok, err := appendValue((*buf)[:0], v, it.shop.loc)
	*buf = b
	if err != nil || !ok {
		return err
	}
	it.out.set(key, b)
	if key == "SMS" && it.out.ident.Phone == "" {
		it.out.ident.Phone, _ = v.(string)
	}
	return nil
}

func textOf(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case bool:
		if x {
			return schemas.ConsentSubscribed, nil
		}
		return schemas.ConsentUnsubscribed, nil
	}
	return "", fmt.Errorf("want text, got %T", v)
}

// consentState folds Shopify's states into what a sink acts on. Only an
// explicit opt-out becomes "unsubscribed"; not_subscribed (never asked)
// and unknown states leave the contact's subscription alone.
func consentState(s string) string {
	switch strings.ToLower(s) {
	case schemas.ConsentSubscribed:
		return "subscribed"
	case schemas.ConsentUnsubscribed, schemas.ConsentRedacted, schemas.ConsentInvalid:
		return "unsubscribed"
	case schemas.ConsentPending:
		return "pending"
	}
	return ""
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
	if r.when != nil {
		ok, err := r.when.Run(env)
		if err != nil {
			return nil, pipeline.Reject("expression", fmt.Errorf("when: %w", err))
		}
		if ok != true {
			return []*pipeline.Record{rec}, nil
		}
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

// productFilter applies the seed's sync.products settings to product
// events; other events pass.
type productFilter struct {
	c    *chain
	name string
	cfg  ProductSync
}

func (f *productFilter) Process(ctx context.Context, rec *pipeline.Record) ([]*pipeline.Record, error) {
	it, err := f.c.load(rec)
	if err != nil {
		return nil, err
	}
	if it.ev.Entity.Kind != schemas.KindProduct {
		return []*pipeline.Record{rec}, nil
	}
	if f.cfg.Enabled != nil && !*f.cfg.Enabled {
		return nil, f.c.skip(it, f.name, SkipProductFilter, "product sync is disabled")
	}
	p, ok := it.data.(*schemas.Product)
	if !ok {
		return []*pipeline.Record{rec}, nil // deletions always pass
	}
	if st := f.cfg.Filter.Status; len(st) > 0 && !containsFold(st, p.Status) {
		return nil, f.c.skip(it, f.name, SkipProductFilter, fmt.Sprintf("status %q is not in %v", p.Status, st))
	}
	for _, t := range f.cfg.Filter.ExcludeTags {
		if containsFold(p.Tags, t) {
			return nil, f.c.skip(it, f.name, SkipProductFilter, fmt.Sprintf("tag %q is excluded", t))
		}
	}
	changed := false
	if f.cfg.IncludeVariants != nil && !*f.cfg.IncludeVariants && len(p.Variants) > 0 {
		// The first variant carries the price Brevo shows.
		p.Variants, changed = p.Variants[:1], true
	}
	if f.cfg.IncludeImages != nil && !*f.cfg.IncludeImages && (len(p.Images) > 0 || p.Image != nil) {
		p.Images, p.Image, changed = nil, nil, true
	}
	if changed {
		b, err := json.Marshal(p)
		if err != nil {
			return nil, pipeline.Reject("encode", err)
		}
		it.ev.Data = b
		it.ev.Modified()
		it.envDone = false
	}
	categories := []string(p.Tags)
	if !f.cfg.CategoriesAsTags {
		categories = nil
		if p.ProductType != "" {
			categories = []string{p.ProductType}
		}
	}
	if len(categories) > 0 {
		b, _, err := appendValue(nil, categories, it.shop.loc)
		if err != nil {
			return nil, pipeline.Reject("invalid_value", err)
		}
		it.out.set("categories", b)
		it.out.touched = true
	}
	if it.out.touched || changed {
		it.out.touched = true
		if err := it.write(rec); err != nil {
			return nil, err
		}
	}
	return []*pipeline.Record{rec}, nil
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(strings.TrimSpace(x), strings.TrimSpace(s)) {
			return true
		}
	}
	return false
}
