package transforms

import (
	"context"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/transforms/expression"
)

// MapConfig is a map stage's own key (beside the shared when).
type MapConfig struct {
	// Fields: target key → expression, in order.
	Fields yaml.Node `yaml:"fields"`
}

// buildMap compiles a map stage's fields, each problem at its own path.
func buildMap(c *chain, s Stage, when *expression.Program, path string, p *config.Problems) pipeline.Transform {
	if s.Fields.Kind != yaml.MappingNode {
		p.Add(config.Join(path, "fields"), "required: a mapping of target key → expression", `e.g. {FIRSTNAME: customer.first_name}`)
		return nil
	}
	var ms []mapping
	for i := 0; i+1 < len(s.Fields.Content); i += 2 {
		ms = append(ms, mapping{target: s.Fields.Content[i].Value, src: s.Fields.Content[i+1].Value})
	}
	return newMapStage(c, ms, when, config.Join(path, "fields"), p)
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
	if ok, err := applies(m.when, env); !ok {
		if err != nil {
			return nil, err
		}
		return []*pipeline.Record{rec}, nil
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
