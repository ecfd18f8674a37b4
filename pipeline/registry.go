package pipeline

import (
	"fmt"
	"sync"

	"github.com/tajo/tajo/pipeline/config"
)

// SourceFactory builds a source from its decoded config (the pointer its
// registration's newConfig returned).
type SourceFactory func(spec any, env Env) (Source, error)

// SinkFactory builds a sink from its decoded config.
type SinkFactory func(spec any, env Env) (Sink, error)

var (
	regMu   sync.RWMutex
	sources = map[string]map[string]SourceFactory{} // section → name
	sinks   = map[string]SinkFactory{}
)

// RegisterSource makes a source type available under `sources.<name>`.
func RegisterSource(name string, newConfig func() any, f SourceFactory) {
	registerSource("sources", name, newConfig, f)
}

// RegisterConnector makes a connector (a source of upstream business data,
// such as Shopify) available under `connectors.<name>`.
func RegisterConnector(name string, newConfig func() any, f SourceFactory) {
	registerSource("connectors", name, newConfig, f)
}

func registerSource(section, name string, newConfig func() any, f SourceFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	if sources[section] == nil {
		sources[section] = map[string]SourceFactory{}
	}
	sources[section][name] = f
	config.Register(section, name, newConfig)
}

// RegisterSink makes a sink type available under `sinks.<name>`.
func RegisterSink(name string, newConfig func() any, f SinkFactory) {
	regMu.Lock()
	defer regMu.Unlock()
	sinks[name] = f
	config.Register("sinks", name, newConfig)
}

func sourceFactory(section, name string) (SourceFactory, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	f := sources[section][name]
	if f == nil {
		return nil, fmt.Errorf("%s.%s: not registered", section, name)
	}
	return f, nil
}

func sinkFactory(name string) (SinkFactory, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	f := sinks[name]
	if f == nil {
		return nil, fmt.Errorf("sinks.%s: not registered", name)
	}
	return f, nil
}
