package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tajo/tajo/plugins"
)

func init() {
	register("plugin", command{args: "<name>", summary: "serve a built-in plugin (started by tajo itself)", run: cmdPlugin, order: 80})
}

// cmdPlugin serves a built-in plugin to the tajo process that launched it.
// It writes nothing to stdout itself: go-plugin's handshake line must be
// the first thing the host reads there.
func cmdPlugin(args []string, _, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintf(stderr, "usage: tajo plugin <name>\nbuilt-in plugins: %s\n", strings.Join(plugins.Builtins(), ", "))
		return 2
	}
	newPlugin, ok := plugins.Builtin(args[0])
	if !ok {
		fmt.Fprintf(stderr, "tajo plugin: no built-in plugin %q (built in: %s)\n", args[0], strings.Join(plugins.Builtins(), ", "))
		return 2
	}
	plugins.Serve(args[0], newPlugin())
	return 0
}
