package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
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
		args:    `[-c pipeline.yaml] [--json] "SQL"`,
		summary: "run an ad-hoc SQL query on the sync history",
		run:     cmdQuery, order: 50,
	})
}

const connectorsUsage = `Usage:
  tajo connectors status  <connector> [-c pipeline.yaml] [--shop S] [--json]
  tajo connectors logs    <connector> [-c pipeline.yaml] [--type webhook|error|sync] [--last 24h] [--shop S] [--limit N] [--json]
  tajo connectors history <connector> [-c pipeline.yaml] [--shop S] [--limit 10] [--json]
  tajo connectors test    shopify     [-c pipeline.yaml]

status, logs and history read the history kept by sinks.clickhouse
(embedded chDB or a server), whether or not tajo run is running. test
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
	return report(cfg, req, stdout, stderr)
}

func cmdQuery(args []string, stdout, stderr io.Writer) int {
	h := newHistoryFlags("query", stderr)
	pos, err := parseInterspersed(h.fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		fmt.Fprintln(stderr, `usage: tajo query [-c pipeline.yaml] [--json] "SELECT … FROM sync_history …"`)
		return 2
	}
	cfg, ok := loadConfig(h.config, stderr)
	if !ok {
		return 1
	}
	return report(cfg, clickhouse.ReportRequest{Kind: "query", SQL: pos[0], JSON: h.json}, stdout, stderr)
}

// testConnector runs a connector's connection test, one ✓/✗ line per check.
func testConnector(cfgPath, name string, stdout, stderr io.Writer) int {
	if name != "shopify" {
		fmt.Fprintf(stderr, "tajo connectors test: only shopify has a connection test, not %q\n", name)
		return 2
	}
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
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
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// report opens the history store the pipeline writes to and renders a
// report; when a running tajo holds an embedded store, it asks that process.
func report(cfg *config.Config, req clickhouse.ReportRequest, stdout, stderr io.Writer) int {
	comp := cfg.Component("sinks", clickhouse.SinkName)
	if comp == nil {
		fmt.Fprintf(stderr, "the sync history lives in sinks.clickhouse, which is not enabled in %s\n", cfg.File)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A running tajo answers for the store it holds; asking it first also
	// keeps this process from locking the store while tajo run starts.
	if cfg.Server.Listen != "" && running(ctx, cfg.Server.Listen) {
		if err := clickhouse.RemoteReport(ctx, cfg.Server.Listen, req, stdout); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	db, err := clickhouse.OpenConfig(ctx, comp.Spec.(*clickhouse.Config), cfg.DataDir)
	if errors.Is(err, clickhouse.ErrLocked) && cfg.Server.Listen != "" {
		if rerr := clickhouse.RemoteReport(ctx, cfg.Server.Listen, req, stdout); rerr != nil {
			fmt.Fprintln(stderr, rerr)
			return 1
		}
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer db.Close()
	if err := db.Report(ctx, req, stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// running reports whether a tajo with a history store answers on addr.
func running(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+clickhouse.APIPath, strings.NewReader("{}"))
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	// Any answer but 404 means the history API is mounted there.
	return resp.StatusCode != http.StatusNotFound
}

func knownConnector(cfg *config.Config, name string) bool {
	for _, sec := range []string{"connectors", "sources"} {
		if _, ok := cfg.Components[sec][name]; ok {
			return true
		}
	}
	return name == "shopify"
}
