package plugins

import (
	"encoding/json"
	"fmt"

	"github.com/tajo/tajo/pipeline"
)

// ConnectorFactory is the pipeline factory of a connector that runs as the
// plugin named plugin, so registering one is a single line:
//
//	pipeline.RegisterConnector("shopify", shopify.NewConfig, plugins.ConnectorFactory("shopify"))
//
// The connector's decoded config (validated host side, by config.Validatable)
// reaches the plugin's Configure as encoding/json of the same value (its
// PluginJSON when it is a PluginConfig, so secrets are revealed): the
// plugin decodes it into the same type. Its webhooks are mounted on
// /webhooks/<connector name> when the host server is enabled, its last
// acked position lives in the state store and its window of delivered
// webhook ids (Spec.Dedupe) in the state journal.
//
// A binary <plugins.dir>/<plugin> takes precedence over the built-in
// plugin. Every webhook answered goes to env.Webhooks, and every connection
// check the plugin reports (ReportCheck) to env.Checks, when set. A spec
// that is a LogLeveler gets its lines printed down to its own level.
func ConnectorFactory(plugin string) pipeline.SourceFactory {
	return func(spec any, env pipeline.Env) (pipeline.Source, error) {
		cfg, err := pluginJSON(spec)
		if err != nil {
			return nil, pipeline.Stop(fmt.Errorf("plugin %s: encoding its configuration: %w", plugin, err))
		}
		src := NewSource(SourceConfig{
			Name:     env.Name,
			Launch:   LaunchConfig{Name: plugin, Dir: env.PluginsDir, SHA256: env.PluginSHA256[plugin]},
			Config:   cfg,
			State:    env.State,
			Journal:  env.Journal,
			Log:      connectorLog(env.Log, spec),
			Webhooks: env.Webhooks,
			Checks:   env.Checks,
		})
		src.Mount(env.HTTP)
		return src, nil
	}
}

// PluginConfig is a connector config whose secrets (config.Secret) mask
// themselves in json.Marshal: PluginJSON is its encoding for the plugin,
// the secrets revealed.
type PluginConfig interface {
	PluginJSON() ([]byte, error)
}

// pluginJSON is what the plugin's Configure receives for spec: its
// PluginJSON, or else encoding/json of it.
func pluginJSON(spec any) ([]byte, error) {
	if p, ok := spec.(PluginConfig); ok {
		return p.PluginJSON()
	}
	return json.Marshal(spec)
}
