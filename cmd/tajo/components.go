package main

// The built-in components register themselves with the engine.
import (
	_ "github.com/tajo/tajo/plugins/echo"
	_ "github.com/tajo/tajo/sinks/brevo"
	_ "github.com/tajo/tajo/sinks/clickhouse"
	_ "github.com/tajo/tajo/sinks/file"
	_ "github.com/tajo/tajo/sources/file"
	_ "github.com/tajo/tajo/sources/generator"
	_ "github.com/tajo/tajo/sources/shopify"
	_ "github.com/tajo/tajo/transforms"
)
