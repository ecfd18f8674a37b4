package brevo_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/sinks/brevo"
)

// TestAPIKeyNeverPrints: sinks.brevo.api_key is a config.Secret, so the
// decoded config shows no part of the key beyond its last four characters
// however it is printed or encoded, alone, by pointer or inside another
// struct (where the config's own String is not called), and the client
// still authenticates with the real key.
func TestAPIKeyNeverPrints(t *testing.T) {
	const key = "xkeysib-0123456789abcdef-SECRETPART-WXYZ"
	cfg := brevo.NewSinkConfig().(*brevo.SinkConfig)
	if err := yaml.Unmarshal([]byte("api_key: "+key+"\nbase_url: http://127.0.0.1:1/v3\n"), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.APIKey.Reveal() != key {
		t.Fatalf("Reveal = %q", cfg.APIKey.Reveal())
	}
	client := brevo.Config{APIKey: cfg.APIKey, BaseURL: cfg.BaseURL}
	wrapped := struct {
		Sink   brevo.SinkConfig
		Client brevo.Config
	}{*cfg, client}
	for name, v := range map[string]any{"SinkConfig": *cfg, "*SinkConfig": cfg, "Config": client, "wrapped": wrapped, "key": cfg.APIKey} {
		js, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		ym, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for how, out := range map[string]string{
			"%v": fmt.Sprintf("%v", v), "%+v": fmt.Sprintf("%+v", v), "%#v": fmt.Sprintf("%#v", v), "%s": fmt.Sprintf("%s", v),
			"json": string(js), "yaml": string(ym),
		} {
			if strings.Contains(out, "SECRETPART") {
				t.Errorf("%s of %s shows the key: %s", how, name, out)
			}
		}
	}
	c, err := brevo.New(client)
	if err != nil {
		t.Fatal(err)
	}
	if c.KeyHint() != "…WXYZ" {
		t.Errorf("client key hint %q: the client did not get the real key", c.KeyHint())
	}
}
