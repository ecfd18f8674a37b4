package shopify

import (
	"path/filepath"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/plugins"
)

func init() {
	plugins.RegisterBuiltin("shopify", func() plugins.SourcePlugin { return New() })
	pipeline.RegisterConnector("shopify", NewConfig, factory)
}

// factory runs the connector as the shopify plugin. The plugin process has
// no pipeline.Env: the one thing it needs from it, its own directory
// (where an older tajo's dedupe window is removed), travels in the
// configuration. Deliveries are deduplicated by the host (plugins.Spec.Dedupe).
func factory(spec any, env pipeline.Env) (pipeline.Source, error) {
	cfg := *spec.(*Config)
	// Not under plugins.dir (data_dir/plugins by default), where a
	// directory named like the plugin would shadow the built-in one.
	cfg.StateDir = filepath.Join(env.DataDir, "connectors", env.Name)
	return plugins.ConnectorFactory("shopify")(&cfg, env)
}
