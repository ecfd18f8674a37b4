package transforms

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/transforms/expression"
)

// Config is the `transforms:` section.
type Config struct {
	// Timezone is the IANA zone of shops not listed in Shops: RECENCY and
	// dates are whole days there.
	Timezone string `yaml:"timezone"`
	// PhoneCountry is the ISO alpha-2 country for phone numbers written
	// without an international prefix.
	PhoneCountry string                  `yaml:"phone_country"`
	Shops        map[string]ShopSettings `yaml:"shops"`
	// DedupeWindow is how long an event id is remembered by the guard.
	DedupeWindow time.Duration `yaml:"dedupe_window"`
	// Stages is the chain, in order. Empty means the default chain: guard,
	// aggregates, field_mapping.
	Stages []Stage `yaml:"stages"`
}

// ShopSettings are per-shop settings.
type ShopSettings struct {
	Timezone     string `yaml:"timezone"`
	PhoneCountry string `yaml:"phone_country"`
}

// Stage is one entry of transforms.stages: the keys every stage has, and
// each type's own keys, inlined from the config struct its file declares
// (MapConfig, FilterConfig, RouteConfig, ProductFilterConfig). A key of
// another type's struct is refused by Validate.
type Stage struct {
	Name string `yaml:"name"`
	// Type is map, filter, route, guard, aggregates, field_mapping or
	// product_filter.
	Type string `yaml:"type"`
	// When restricts map, field_mapping and route stages to the events for
	// which it is true; other events pass unchanged.
	When string `yaml:"when"`

	MapConfig           `yaml:",inline"`
	FilterConfig        `yaml:",inline"`
	RouteConfig         `yaml:",inline"`
	ProductFilterConfig `yaml:",inline"`
}

// Stage types.
const (
	StageMap           = "map"
	StageFilter        = "filter"
	StageRoute         = "route"
	StageGuard         = "guard"
	StageAggregates    = "aggregates"
	StageFieldMapping  = "field_mapping"
	StageProductFilter = "product_filter"
)

// stageType is what validation and the chain need of one type of stage;
// the type's own file holds its config struct and its builder.
type stageType struct {
	name string
	// when: the stage reads the shared when key.
	when bool
	// config is the type's config struct inlined in Stage, nil for none.
	config reflect.Type
	// build compiles the stage, reporting problems under path; with c ==
	// nil it only validates.
	build func(c *chain, s Stage, when *expression.Program, path string, p *config.Problems) pipeline.Transform
}

var stageTypes = []stageType{
	{name: StageMap, when: true, config: reflect.TypeFor[MapConfig](), build: buildMap},
	{name: StageFilter, config: reflect.TypeFor[FilterConfig](), build: buildFilter},
	{name: StageRoute, when: true, config: reflect.TypeFor[RouteConfig](), build: buildRoute},
	{name: StageGuard, build: buildGuard},
	{name: StageAggregates, build: buildAggregates},
	{name: StageFieldMapping, when: true, build: buildFieldMapping},
	{name: StageProductFilter, config: reflect.TypeFor[ProductFilterConfig](), build: buildProductFilter},
}

func typeOf(name string) (stageType, bool) {
	for _, t := range stageTypes {
		if t.name == name {
			return t, true
		}
	}
	return stageType{}, false
}

func typeNames() []string {
	out := make([]string, len(stageTypes))
	for i, t := range stageTypes {
		out[i] = t.name
	}
	return out
}

// foreignKeys lists the keys s sets that its type does not read.
func (s *Stage) foreignKeys(t stageType) []string {
	var out []string
	if s.When != "" && !t.when {
		out = append(out, "when")
	}
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		if !f.Anonymous || f.Type == t.config {
			continue
		}
		for j := 0; j < f.Type.NumField(); j++ {
			if fv := v.Field(i).Field(j); !fv.IsZero() && !(fv.Kind() == reflect.Map && fv.Len() == 0) {
				key, _, _ := strings.Cut(f.Type.Field(j).Tag.Get("yaml"), ",")
				out = append(out, key)
			}
		}
	}
	return out
}

// NewConfig returns the defaults.
func NewConfig() any {
	return &Config{Timezone: "UTC", DedupeWindow: 7 * 24 * time.Hour}
}

// DefaultStages is the chain used when transforms.stages is empty.
func DefaultStages() []Stage {
	return []Stage{
		{Name: "guard", Type: StageGuard},
		{Name: "aggregates", Type: StageAggregates},
		{Name: "contact", Type: StageFieldMapping},
	}
}

func (c *Config) stages() []Stage {
	if len(c.Stages) == 0 {
		return DefaultStages()
	}
	return c.Stages
}

// Validate compiles every expression, so a mistake fails tajo validate
// with its path and position.
func (c *Config) Validate(p *config.Problems, path string) {
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		p.Add(config.Join(path, "timezone"), fmt.Sprintf("unknown time zone %q", c.Timezone), `an IANA name, e.g. "Europe/Paris" or "UTC"`)
	}
	checkCountry(p, config.Join(path, "phone_country"), c.PhoneCountry)
	for _, name := range slices.Sorted(maps.Keys(c.Shops)) {
		s := c.Shops[name]
		if s.Timezone != "" {
			if _, err := time.LoadLocation(s.Timezone); err != nil {
				p.Add(config.Join(path, "shops", name, "timezone"), fmt.Sprintf("unknown time zone %q", s.Timezone), `an IANA name, e.g. "America/New_York"`)
			}
		}
		checkCountry(p, config.Join(path, "shops", name, "phone_country"), s.PhoneCountry)
	}
	if c.DedupeWindow <= 0 {
		p.Add(config.Join(path, "dedupe_window"), "must be a positive duration", `Shopify retries for 4 hours; "168h" is a safe default`)
	}
	names := map[string]bool{}
	for i, s := range c.Stages {
		sp := config.Join(path, "stages", i)
		if s.Name == "" {
			p.Add(config.Join(sp, "name"), "required", "a short name reported in dead letters, e.g. contact")
		} else if names[s.Name] {
			p.Add(config.Join(sp, "name"), fmt.Sprintf("%q is used by another stage", s.Name), "")
		}
		names[s.Name] = true
		if !p.OneOf(config.Join(sp, "type"), s.Type, typeNames()...) {
			continue
		}
		t, _ := typeOf(s.Type)
		for _, key := range s.foreignKeys(t) {
			p.Add(config.Join(sp, key), "does not apply to a "+s.Type+" stage", "remove it, or change the type")
		}
		buildStage(nil, s, sp, p)
	}
}

func checkCountry(p *config.Problems, path, c string) {
	if c == "" {
		return
	}
	if !expression.KnownCountry(c) {
		p.Add(path, fmt.Sprintf("unknown or unsupported country %q", c), "an ISO 3166 alpha-2 code, e.g. FR")
	}
}

// shopSettings are the resolved settings of one shop.
type shopSettings struct {
	loc     *time.Location
	country string
}

type settings struct {
	def   *shopSettings
	shops map[string]*shopSettings
}

func newSettings(c *Config) *settings {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		loc = time.UTC
	}
	s := &settings{def: &shopSettings{loc: loc, country: strings.ToUpper(c.PhoneCountry)}, shops: map[string]*shopSettings{}}
	for name, sh := range c.Shops {
		ss := &shopSettings{loc: loc, country: s.def.country}
		if l, err := time.LoadLocation(sh.Timezone); err == nil && sh.Timezone != "" {
			ss.loc = l
		}
		if sh.PhoneCountry != "" {
			ss.country = strings.ToUpper(sh.PhoneCountry)
		}
		s.shops[name] = ss
	}
	return s
}

func (s *settings) forShop(shop string) *shopSettings {
	if ss, ok := s.shops[shop]; ok {
		return ss
	}
	return s.def
}
