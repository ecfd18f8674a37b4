package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sources/shopify"
)

func init() {
	register("connectors", command{
		args:    "status|logs|history|test <connector> [flags]",
		summary: "connector status, webhook/error/sync logs, sync history; test a connection",
		run:     cmdConnectors, order: 40,
	})
	register("query", command{
		args:    `[-c pipeline.yaml] [--json] [--max-rows N] [--max-bytes N] [--timeout 30s] "SQL"`,
		summary: "run a read-only SQL query on tajo's history tables",
		run:     cmdQuery, order: 50,
	})
}

const connectorsUsage = `Usage:
  tajo connectors status  <connector> [-c pipeline.yaml] [--shop S] [--json]
  tajo connectors logs    <connector> [-c pipeline.yaml] [--type webhook|error|sync] [--last 24h] [--shop S] [--limit N] [--json]
  tajo connectors history <connector> [-c pipeline.yaml] [--shop S] [--limit 10] [--json]
  tajo connectors test    shopify     [-c pipeline.yaml]

status, logs and history read the history kept by sinks.clickhouse
(embedded chDB or a server), whether or not tajo run is running (then
through its control listener, control.listen, with the control token). test
checks that each configured store answers with the configured credentials.
`

// parseInterspersed parses flags that may come before or after positional
// arguments ("logs shopify --last 24h" and "logs --last 24h shopify").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

type historyFlags struct {
	fs     *flag.FlagSet
	config string
	json   bool
	shop   string
}

func newHistoryFlags(name string, stderr io.Writer) *historyFlags {
	h := &historyFlags{fs: flag.NewFlagSet("tajo "+name, flag.ContinueOnError)}
	h.fs.SetOutput(stderr)
	h.fs.StringVar(&h.config, "c", "pipeline.yaml", "the pipeline configuration `file`")
	h.fs.StringVar(&h.config, "config", "pipeline.yaml", "the pipeline configuration `file`")
	h.fs.BoolVar(&h.json, "json", false, "JSON output for scripts")
	h.fs.StringVar(&h.shop, "shop", "", "only this shop domain")
	return h
}

func cmdConnectors(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, connectorsUsage)
		return 2
	}
	sub := args[0]
	h := newHistoryFlags("connectors "+sub, stderr)
	typ := h.fs.String("type", "webhook", "logs: webhook, error or sync")
	last := h.fs.Duration("last", 24*time.Hour, "logs: only rows this recent (0 for all)")
	limit := h.fs.Int("limit", 0, "at most this many rows (logs: 100, history: 10)")
	pos, err := parseInterspersed(h.fs, args[1:])
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "tajo connectors %s: name one connector, e.g. shopify\n\n%s", sub, connectorsUsage)
		return 2
	}
	req := clickhouse.ReportRequest{Shop: h.shop, JSON: h.json, Limit: *limit}
	switch sub {
	case "test":
		return testConnector(h.config, pos[0], stdout, stderr)
	case "status":
		req.Kind = "status"
	case "logs":
		req.Kind, req.Type, req.Last = "logs", *typ, *last
		if !slices.Contains(clickhouse.LogTypes, *typ) {
			fmt.Fprintf(stderr, "tajo connectors logs: --type must be one of %s\n", strings.Join(clickhouse.LogTypes, ", "))
			return 2
		}
		if req.Limit == 0 {
			req.Limit = 100
		}
	case "history":
		req.Kind = "history"
		if req.Limit == 0 {
			req.Limit = 10
		}
	default:
		fmt.Fprintf(stderr, "tajo connectors: unknown subcommand %q\n\n%s", sub, connectorsUsage)
		return 2
	}
	cfg, ok := loadConfig(h.config, stderr)
	if !ok {
		return 1
	}
	if name := pos[0]; !knownConnector(cfg, name) {
		fmt.Fprintf(stderr, "tajo connectors %s: %q is not a connector or source in %s\n", sub, name, h.config)
		return 1
	}
	req.Expect = clickhouse.ExpectedChecks(cfg)
	return report(cfg, req, stdout, stderr)
}

func cmdQuery(args []string, stdout, stderr io.Writer) int {
	h := newHistoryFlags("query", stderr)
	var lim clickhouse.Limits
	h.fs.Int64Var(&lim.MaxRows, "max-rows", clickhouse.DefaultMaxRows, fmt.Sprintf("refuse a result of more rows (at most %d)", clickhouse.CapMaxRows))
	h.fs.Int64Var(&lim.MaxBytes, "max-bytes", clickhouse.DefaultMaxBytes, fmt.Sprintf("refuse a result of more bytes (at most %d)", clickhouse.CapMaxBytes))
	h.fs.DurationVar(&lim.Timeout, "timeout", clickhouse.DefaultQueryTimeout, fmt.Sprintf("stop a query that runs longer (at most %s)", clickhouse.CapQueryTimeout))
	pos, err := parseInterspersed(h.fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		fmt.Fprintln(stderr, `usage: tajo query [-c pipeline.yaml] [--json] [--max-rows N] [--max-bytes N] [--timeout 30s] "SELECT … FROM sync_history …"`)
		return 2
	}
	cfg, ok := loadConfig(h.config, stderr)
	if !ok {
		return 1
	}
	return report(cfg, clickhouse.ReportRequest{Kind: "query", SQL: pos[0], JSON: h.json, Limits: lim}, stdout, stderr)
}

// testConnector runs a connector's connection test, one ✓/✗ line per check.
func testConnector(cfgPath, name string, stdout, stderr io.Writer) int {
	if name != "shopify" {
		fmt.Fprintf(stderr, "tajo connectors test: only shopify has a connection test, not %q\n", name)
		return 2
	}
	cfg, usable, valid := loadConfigUnder(cfgPath, "connectors.shopify", stderr)
	if !usable {
		return 1
	}
	comp := cfg.Component("connectors", "shopify")
	if comp == nil {
		fmt.Fprintf(stderr, "connectors.shopify is not enabled in %s\n", cfgPath)
		return 1
	}
	if dev, _ := cfg.Sections["dev"].(*devConfig); dev != nil && dev.simShopify {
		fmt.Fprintln(stderr, "connectors.shopify has no credentials (tajo run would simulate the store): set SHOPIFY_ACCESS_TOKEN and SHOPIFY_API_SECRET to test a real one")
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checks, err := shopify.TestConnection(ctx, comp.Spec.(*shopify.Config))
	for _, c := range checks {
		fmt.Fprintln(stdout, c.String())
	}
	recordTestChecks(cfg, checks, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if !valid {
		return 1
	}
	return 0
}

// report renders a history report (clickhouse.ReportFrom: the store, or
// the running tajo that holds it), printing what went wrong.
func report(cfg *config.Config, req clickhouse.ReportRequest, stdout, stderr io.Writer) int {
	if err := clickhouse.ReportFrom(cfg, req, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func knownConnector(cfg *config.Config, name string) bool {
	for _, sec := range []string{"connectors", "sources"} {
		if _, ok := cfg.Components[sec][name]; ok {
			return true
		}
	}
	return name == "shopify"
}

// recordTestChecks keeps what `tajo connectors test shopify` saw in the
// history's connection checks, one per store: the Admin API answered with
// the token, or why not. Without a history sink there is nowhere to keep
// them; a failure to record is said, and changes nothing of the test.
func recordTestChecks(cfg *config.Config, checks []shopify.Check, stderr io.Writer) {
	if cfg.Component("sinks", clickhouse.SinkName) == nil {
		return
	}
	rec := shopify.HistoryChecks(checks, time.Now().UTC())
	if len(rec) == 0 {
		return
	}
	if code := report(cfg, clickhouse.ReportRequest{Kind: "record_checks", Checks: rec}, io.Discard, stderr); code != 0 {
		fmt.Fprintln(stderr, "(the result above is not kept in the history's connection checks)")
	}
}
