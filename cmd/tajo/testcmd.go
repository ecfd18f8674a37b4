package main

import (
	"io"

	"github.com/tajo/tajo/transforms"
)

func init() {
	register("test", command{args: "[-c pipeline.yaml]", summary: "run the unit tests written in the configuration (tests:)", run: cmdTest, order: 30})
}

// cmdTest loads (and so validates) the configuration, then runs its tests:
// exit 1 when the file is invalid or any test fails.
func cmdTest(args []string, stdout, stderr io.Writer) int {
	path, ok := configFlag("test", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(path, stderr)
	if !ok {
		return 1
	}
	if transforms.RunTests(cfg, stdout) > 0 {
		return 1
	}
	return 0
}
