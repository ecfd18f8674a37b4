package clickhouse

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline/config"
)

// TestDSNPasswordNeverPrints: sinks.clickhouse.dsn's password (in the
// userinfo or a password= option) is absent from the decoded config however
// it is printed or encoded, alone, by pointer or inside another struct,
// while the backend still reads the DSN as written.
func TestDSNPasswordNeverPrints(t *testing.T) {
	for _, dsn := range []string{
		"clickhouse://tajo:hunter2secret@127.0.0.1:9000/tajo",
		"clickhouse://127.0.0.1:9000/tajo?username=tajo&password=hunter2secret",
		"clickhouse://tajo:hunter2secret%zz@127.0.0.1:9000/tajo", // does not parse as a URL
	} {
		cfg := DefaultConfig()
		if err := yaml.Unmarshal([]byte(fmt.Sprintf("dsn: %q\n", dsn)), cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.DSN != dsn {
			t.Fatalf("decoded dsn = %q", cfg.DSN)
		}
		wrapped := struct{ History Config }{*cfg}
		for name, v := range map[string]any{"Config": *cfg, "*Config": cfg, "wrapped": wrapped} {
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
				"%x": fmt.Sprintf("%x", v), "json": string(js), "yaml": string(ym),
			} {
				if strings.Contains(out, "hunter2") || strings.Contains(out, "68756e74657232") || !strings.Contains(out, config.Masked) && how != "%x" {
					t.Errorf("%s of %s (dsn %s) shows the password or no mask: %s", how, name, dsn, out)
				}
			}
		}
	}
}
