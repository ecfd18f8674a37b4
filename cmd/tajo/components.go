package main

// The built-in components register themselves with the engine.
import (
	_ "github.com/tajo/tajo/plugins/echo"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/clickhouse"
	_ "github.com/tajo/tajo/sinks/file"
	_ "github.com/tajo/tajo/sources/file"
	_ "github.com/tajo/tajo/sources/generator"
	"github.com/tajo/tajo/sources/shopify"
	_ "github.com/tajo/tajo/transforms"
)

// Components that never import each other meet through interfaces the
// consumer declares: sinks.brevo derives its lists and product options
// from connectors.shopify's config (brevo.SinkConfig.Derive), and the
// history's status expects the checks both declare, and a run without
// --dev asks for the credentials each names. The build fails here
// if a config stops satisfying them.
var (
	_ brevo.ListsSource         = (*shopify.Config)(nil)
	_ brevo.ProductsSource      = (*shopify.Config)(nil)
	_ clickhouse.ChecksDeclarer = (*shopify.Config)(nil)
	_ clickhouse.ChecksDeclarer = (*brevo.SinkConfig)(nil)
	_ credentialed              = (*shopify.Config)(nil)
	_ credentialed              = (*brevo.SinkConfig)(nil)
)
