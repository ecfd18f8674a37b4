package transforms

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

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

// Stage is one entry of transforms.stages; which keys apply depends on
// Type.
type Stage struct {
	Name string `yaml:"name"`
	// Type is map, filter, route, guard, aggregates, field_mapping or
	// product_filter.
	Type string `yaml:"type"`
	// When restricts map, field_mapping and route stages to the events for
	// which it is true; other events pass unchanged.
	When string `yaml:"when"`
	// Fields (map): target key → expression, in order.
	Fields yaml.Node `yaml:"fields"`
	// Condition (filter): events for which it is false are dropped.
	Condition string `yaml:"condition"`
	// Sinks (route): sink name → condition.
	Sinks map[string]string `yaml:"sinks"`
	// Products (product_filter): the seed's sync.products settings.
	Products ProductSync `yaml:"products"`
}

// ProductSync mirrors the seed's connectors.shopify.sync.products.
type ProductSync struct {
	Enabled          *bool         `yaml:"enabled"`
	IncludeVariants  *bool         `yaml:"include_variants"`
	IncludeImages    *bool         `yaml:"include_images"`
	CategoriesAsTags bool          `yaml:"categories_as_tags"`
	Filter           ProductFilter `yaml:"filter"`
}

// ProductFilter selects which products sync.
type ProductFilter struct {
	Status      []string `yaml:"status"`
	ExcludeTags []string `yaml:"exclude_tags"`
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

// stageKeys lists the keys each stage type reads (besides name and type).
var stageKeys = map[string]map[string]bool{
	StageMap:           {"when": true, "fields": true},
	StageFieldMapping:  {"when": true},
	StageFilter:        {"condition": true},
	StageRoute:         {"when": true, "sinks": true},
	StageProductFilter: {"products": true},
}

var stageTypes = []string{StageMap, StageFilter, StageRoute, StageGuard, StageAggregates, StageFieldMapping, StageProductFilter}

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

// ProductSettings is implemented by a connector configuration that holds
// the seed's sync.products settings (connectors.shopify.sync.products), so
// users set them where the seed puts them and the chain applies them.
type ProductSettings interface {
	ProductSyncSettings() (enabled, includeVariants, includeImages, categoriesAsTags bool, status, excludeTags []string)
}

// withConnectorProducts puts the connector's product settings on the
// product path of every chain: product_filter stages that do not set
// products: take them, and a chain that lists none gets one first, so the
// seed's filter (status, exclude_tags) and categories_as_tags apply
// whatever stages are listed. A listed product_filter is the product path:
// nothing is added, so no product is filtered twice.
func withConnectorProducts(stages []Stage, ps ProductSettings) []Stage {
	enabled, variants, images, cats, status, exclude := ps.ProductSyncSettings()
	from := ProductSync{
		Enabled: &enabled, IncludeVariants: &variants, IncludeImages: &images, CategoriesAsTags: cats,
		Filter: ProductFilter{Status: status, ExcludeTags: exclude},
	}
	out := make([]Stage, 0, len(stages)+1)
	listed := false
	names := map[string]bool{}
	for _, s := range stages {
		names[s.Name] = true
		if s.Type == StageProductFilter {
			listed = true
			if reflect.DeepEqual(s.Products, ProductSync{}) {
				s.Products = from
			}
		}
		out = append(out, s)
	}
	if listed {
		return out
	}
	name := "products"
	for i := 2; names[name]; i++ {
		name = fmt.Sprintf("products_%d", i)
	}
	return append([]Stage{{Name: name, Type: StageProductFilter, Products: from}}, out...)
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
		if !p.OneOf(config.Join(sp, "type"), s.Type, stageTypes...) {
			continue
		}
		for key, set := range map[string]bool{
			"when":      s.When != "",
			"fields":    s.Fields.Kind != 0,
			"condition": s.Condition != "",
			"sinks":     len(s.Sinks) > 0,
			"products":  !reflect.DeepEqual(s.Products, ProductSync{}),
		} {
			if set && !stageKeys[s.Type][key] {
				p.Add(config.Join(sp, key), "does not apply to a "+s.Type+" stage", "remove it, or change the type")
			}
		}
		if _, err := buildStage(nil, s, sp, p); err != nil {
			p.Add(sp, err.Error(), "")
		}
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
