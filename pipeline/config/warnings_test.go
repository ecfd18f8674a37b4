package config

import (
	"errors"
	"testing"
)

// warnSection warns at its key, and also refuses it when refuse is set.
type warnSection struct {
	Key    int  `yaml:"key"`
	Refuse bool `yaml:"refuse"`
}

func (w *warnSection) Validate(p *Problems, path string) {
	if w.Key > 0 {
		p.Warn(Join(path, "key"), "accepted but not acted on yet", "it comes later")
		p.Warn(Join(path, "key"), "accepted but not acted on yet", "it comes later")
	}
	if w.Refuse {
		p.Add(Join(path, "key"), "must be 0", "")
	}
}

func init() { RegisterSection("warntest", func() any { return &warnSection{} }) }

// A warning leaves the configuration valid and is kept once in
// Config.Warnings; a problem at the same path replaces it.
func TestWarningsAreKeptApartFromProblems(t *testing.T) {
	cfg, err := Parse([]byte("version: 1\nwarntest: {key: 3}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Warnings) != 1 || cfg.Warnings[0].String() != "warntest.key: accepted but not acted on yet (it comes later)" {
		t.Fatalf("warnings %v", cfg.Warnings)
	}
	cfg, err = Parse([]byte("version: 1\nwarntest: {key: 3, refuse: true}\n"), env(nil))
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Problems) != 1 || ce.Problems[0].Path != "warntest.key" {
		t.Fatalf("err %v", err)
	}
	if len(cfg.Warnings) != 0 {
		t.Fatalf("a refused key also warned: %v", cfg.Warnings)
	}
}
