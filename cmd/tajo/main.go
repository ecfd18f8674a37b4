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
	"sort"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// command is one `tajo <name>` subcommand. Each lives in its own file and
// registers itself in init, so adding one touches nothing else.
type command struct {
	// args is the usage after the name, e.g. "[-c pipeline.yaml]".
	args    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
	order   int // position in the help
}

var commands = map[string]command{}

func register(name string, c command) {
	if _, dup := commands[name]; dup {
		panic("tajo: command registered twice: " + name)
	}
	commands[name] = c
}

func init() {
	register("run", command{args: "[-c pipeline.yaml] [--dev]", summary: "run the pipeline until Ctrl-C (SIGINT/SIGTERM stop it cleanly); --dev simulates what has no credentials", run: func(a []string, _, e io.Writer) int { return cmdRun(a, e) }, order: 10})
	register("validate", command{args: "[-c pipeline.yaml] [--dev]", summary: "check the configuration as tajo run [--dev] would, and report every problem", run: cmdValidate, order: 20})
	register("version", command{summary: "print the version", run: func(_ []string, o, _ io.Writer) int { fmt.Fprintln(o, "tajo", versionString()); return 0 }, order: 90})
	register("help", command{summary: "show this help", run: func(_ []string, o, _ io.Writer) int { fmt.Fprint(o, usage()); return 0 }, order: 99})
}

func usage() string {
	var b strings.Builder
	b.WriteString("tajo keeps Brevo in step with your Shopify stores.\n\nUsage:\n")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, c := commands[names[i]], commands[names[j]]
		if a.order != c.order {
			return a.order < c.order
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(&b, "  %-44s %s\n", strings.TrimSpace("tajo "+n+" "+c.args), c.summary)
	}
	b.WriteString("\nExit codes: 0 success, 1 invalid configuration or a failure, 2 bad usage.\n")
	return b.String()
}

func main() {
	// Whatever tajo writes (data_dir: broker segments, state, history,
	// dead letters, file sink output) holds customer data: owner only.
	// Set before anything starts, so plugin processes inherit it.
	restrictUmask()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage())
		return 2
	}
	name := args[0]
	switch name {
	case "--version", "-v":
		name = "version"
	case "--help", "-h":
		name = "help"
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "tajo: unknown command %q\n\n%s", args[0], usage())
		return 2
	}
	return c.run(args[1:], stdout, stderr)
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
	path, _, ok := parseConfigFlags(name, args, false, stderr)
	return path, ok
}

// runFlags parses -c and --dev, the flags of tajo run and tajo validate.
func runFlags(name string, args []string, stderr io.Writer) (path string, dev, ok bool) {
	return parseConfigFlags(name, args, true, stderr)
}

func parseConfigFlags(name string, args []string, withDev bool, stderr io.Writer) (string, bool, bool) {
	fs := flag.NewFlagSet("tajo "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "pipeline.yaml", "the pipeline configuration `file`")
	fs.StringVar(path, "config", "pipeline.yaml", "the pipeline configuration `file`")
	var dev bool
	if withDev {
		fs.BoolVar(&dev, "dev", false, "simulate the Shopify store and the Brevo account that have no credentials (dev.simulate: missing)")
	}
	if err := fs.Parse(args); err != nil {
		return "", false, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tajo %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false, false
	}
	return *path, dev, true
}

// loadConfig loads the configuration for a command that reads the history
// or runs the configuration's tests: it uses no credential, so what has
// none is filled in as by --dev rather than refused.
func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	return loadConfigSimulating(path, simulateMissing, stderr)
}

// loadRunConfig loads the configuration as tajo run does: without dev, a
// missing credential is a problem unless dev.simulate asks for simulation.
func loadRunConfig(path string, dev bool, stderr io.Writer) (*config.Config, bool) {
	simulate := ""
	if dev {
		simulate = simulateMissing
	}
	return loadConfigSimulating(path, simulate, stderr)
}

func loadConfigSimulating(path, simulate string, stderr io.Writer) (*config.Config, bool) {
	cfg, err := loadWith(path, simulate)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return cfg, true
}

func loadWith(path, simulate string) (*config.Config, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	loadSimulate = simulate
	defer func() { loadSimulate = "" }()
	return config.Load(path)
}

// loadConfigUnder is loadConfig for a command that checks one component
// itself (tajo connectors test shopify judges the API version on its own
// ✗ line): problems under prefix alone are printed and the configuration
// is still returned, with ok false; any other problem stops as loadConfig
// does.
func loadConfigUnder(path, prefix string, stderr io.Writer) (cfg *config.Config, usable, ok bool) {
	cfg, err := loadWith(path, simulateMissing)
	if err == nil {
		return cfg, true, true
	}
	fmt.Fprintln(stderr, err)
	var ce *config.Error
	if cfg == nil || !errors.As(err, &ce) {
		return nil, false, false
	}
	for _, p := range ce.Problems {
		if p.Path != prefix && !strings.HasPrefix(p.Path, prefix+".") {
			return nil, false, false
		}
	}
	return cfg, true, false
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	path, dev, ok := runFlags("validate", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadRunConfig(path, dev, stderr)
	if !ok {
		return 1
	}
	// Warnings are keys accepted with a remark (an API version near its
	// end, a seed key not acted on yet): said, and not a failure.
	for _, w := range cfg.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	switch n := len(cfg.Warnings); n {
	case 0:
		fmt.Fprintf(stdout, "%s: ok\n", path)
	case 1:
		fmt.Fprintf(stdout, "%s: ok, with 1 warning\n", path)
	default:
		fmt.Fprintf(stdout, "%s: ok, with %d warnings\n", path, n)
	}
	return 0
}

func cmdRun(args []string, stderr io.Writer) int {
	path, dev, ok := runFlags("run", args, stderr)
	if !ok {
		return 2
	}
	cfg, ok := loadRunConfig(path, dev, stderr)
	if !ok {
		return 1
	}
	log := newLogger(cfg.Log, stderr)
	log.WithFields(logrus.Fields{"config": path, "version": versionString(), "data_dir": cfg.DataDir}).Info("tajo starting")
	for _, w := range cfg.Warnings {
		log.WithField("path", w.Path).Warn(w.Message + hintSuffix(w.Hint))
	}
	if err := privateDataDir(cfg.DataDir, log); err != nil {
		log.WithError(err).Error("data_dir")
		return 1
	}

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
	sims, err := startSimulators(cfg, log)
	if err != nil {
		log.WithError(err).Error("starting the simulators")
		return 1
	}
	defer sims.Close()
	r := pipeline.NewRunner(cfg, log)
	go sims.sendWebhooks(ctx, r.Addr)
	err = r.Run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.WithError(err).Error("pipeline stopped")
		return 1
	}
	log.Info("tajo stopped cleanly")
	return 0
}

func hintSuffix(h string) string {
	if h == "" {
		return ""
	}
	return " (" + h + ")"
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

// privateDataDir creates data_dir readable by tajo's user only. One that
// exists with wider permissions is left as it is, with a warning: what is
// under it may be readable by others.
func privateDataDir(dir string, log *logrus.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		log.WithField("data_dir", dir).Warnf("data_dir has mode %04o: other users may read the customer data under it; chmod 700 %s", perm, dir)
	}
	return nil
}
