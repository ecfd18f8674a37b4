package config

import (
	"maps"
	"slices"
)

// Deriver is implemented by a component config that takes some of its
// settings from other components' configs. The seed writes Brevo's list
// ids under connectors.shopify; the Brevo sink cannot import the Shopify
// connector (connectors never import each other), so its config declares
// Derive and reads the connector's config through a small interface of its
// own that the connector's config satisfies.
//
// Derive runs once per enabled component, after decoding and before the
// fixups and validation, so validation judges what the run uses. A
// deriver changes its own config only; others are read through Each.
type Deriver interface {
	Derive(c *Config, p *Problems)
}

// sectionsInOrder are the component sections, in the order Derive and
// Each visit them.
var sectionsInOrder = []string{"sources", "connectors", "sinks"}

// Each calls fn with the path ("connectors.shopify") and decoded config of
// every enabled component, sections in the order sources, connectors,
// sinks and names sorted within each.
func (c *Config) Each(fn func(path string, spec any)) {
	for _, sec := range sectionsInOrder {
		for _, name := range slices.Sorted(maps.Keys(c.Components[sec])) {
			if comp := c.Component(sec, name); comp != nil {
				fn(Join(sec, name), comp.Spec)
			}
		}
	}
}

// derive runs the Derive of every enabled component that declares one.
func (c *Config) derive(p *Problems) {
	c.Each(func(_ string, spec any) {
		if d, ok := spec.(Deriver); ok {
			d.Derive(c, p)
		}
	})
}
