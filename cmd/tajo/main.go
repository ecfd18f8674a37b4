package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

const usage = `tajo keeps Brevo in step with your Shopify stores.

Usage:
  tajo run      [-c pipeline.yaml]   run the pipeline until Ctrl-C (SIGINT/SIGTERM stop it cleanly)
  tajo validate [-c pipeline.yaml]   check the configuration and report every problem
  tajo version                       print the version
  tajo help                          show this help

Exit codes: 0 success, 1 invalid configuration or a pipeline failure, 2 bad usage.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "tajo", versionString())
		return 0
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "tajo: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			return "dev-" + rev + dirty
		}
	}
	return "dev"
}

// configFlag parses the -c flag shared by the commands that read a config.
func configFlag(name string, args []string, stderr io.Writer) (string, bool) {
	fs := flag.NewFlagSet("tajo "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "pipeline.yaml", "the pipeline configuration `file`")
	fs.StringVar(path, "config", "pipeline.yaml", "the pipeline configuration `file`")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tajo %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false
	}
	return *path, true
}

func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return cfg, true
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	path, ok := configFlag("validate", args, stderr)
	if !ok {
		return 2
	}
	if _, ok := loadConfig(path, stderr); !ok {
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return 0
}

func cmdRun(args []string, stderr io.Writer) int {
	path, ok := configFlag("run", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadConfig(path, stderr)
	if !ok {
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	log.WithFields(logrus.Fields{"config": path, "version": versionString(), "data_dir": cfg.DataDir}).Info("tajo starting")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second signal after the graceful stop began exits at once; the
		// next run redelivers whatever was not committed.
		<-ctx.Done()
		stop()
		again := make(chan os.Signal, 1)
		signal.Notify(again, syscall.SIGINT, syscall.SIGTERM)
		<-again
		log.Warn("second signal: exiting without draining")
		os.Exit(1)
	}()
	err := pipeline.NewRunner(cfg, log).Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.WithError(err).Error("pipeline stopped")
		return 1
	}
	log.Info("tajo stopped cleanly")
	return 0
}

func newLogger(c config.Log, out io.Writer) *logrus.Logger {
	log := logrus.New()
	log.SetOutput(out)
	if lvl, err := logrus.ParseLevel(c.Level); err == nil {
		log.SetLevel(lvl)
	}
	if c.Format == "json" {
		log.SetFormatter(&logrus.JSONFormatter{})
	} else {
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: "15:04:05.000"})
	}
	return log
}
