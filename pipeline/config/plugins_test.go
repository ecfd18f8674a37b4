package config

import (
	"strings"
	"testing"
)

func TestPluginsSHA256(t *testing.T) {
	good := strings.Repeat("ab", 32)
	cfg, err := Parse([]byte("version: 1\nplugins: {sha256: {shopify: "+good+"}}\n"), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if pin := cfg.Plugins.Pins()["shopify"]; len(pin) != 32 || pin[0] != 0xab {
		t.Fatalf("pin %x", pin)
	}
	_, err = Parse([]byte("version: 1\nplugins: {sha256: {shopify: abc, ../x: "+good+"}}\n"), env(nil))
	for _, want := range []string{"plugins.sha256.shopify: must be 64 hex digits", "plugins.sha256.../x: is not a plugin name"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in %v", want, err)
		}
	}
}
