package pipeline

import (
	"fmt"
	"reflect"
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

// RegisterSink makes a sink type available under `sinks.<name>`. What it
// can be named for (history.sink, dead_letter.sink) is read from the type
// f returns, so validation refuses a name the run would refuse: a factory
// returning a HistorySink (a concrete type that implements it) can keep the
// history, one returning the Sink interface cannot.
func RegisterSink[S Sink](name string, newConfig func() any, f func(spec any, env Env) (S, error)) {
	regMu.Lock()
	defer regMu.Unlock()
	sinks[name] = func(spec any, env Env) (Sink, error) {
		s, err := f(spec, env)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	config.Register("sinks", name, newConfig)
	t := reflect.TypeFor[S]()
	if t.Implements(reflect.TypeFor[HistorySink]()) {
		config.RegisterAbilities("sinks", name, config.KeepsHistory)
	}
	if t.Implements(reflect.TypeFor[DeadLetterSink]()) {
		config.RegisterAbilities("sinks", name, config.StoresDeadLetters)
	}
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
