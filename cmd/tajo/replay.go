package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tajo/tajo/sinks/clickhouse"
	"github.com/tajo/tajo/sources/shopify"
)

func init() {
	register("replay", command{
		args:    "[-c pipeline.yaml] [--id ID]… [--since T] [--until T] [--reason S] [--shop S] [--dry-run]",
		summary: "send error-history records through the running pipeline again, after a fix",
		run:     cmdReplay, order: 55,
	})
}

const replayUsage = `Usage:
  tajo replay [-c pipeline.yaml] [--id EVENT_ID]… [--since T] [--until T] [--reason S]
              [--shop S] [--limit N] [--to URL] [--dry-run]

Chooses rows of the error history (sinks.clickhouse's error_history) and
sends each one's Shopify delivery again to the running tajo's webhook
listener: the raw body as received, signed again with the shop's
api_secret, with a new X-Shopify-Webhook-Id (<original>.replay.<unix>) so
the delivery dedupe lets it through. Rows without a raw webhook body (a
backfill record, a record that was not an envelope) are skipped with the
reason. T is RFC 3339 (2026-11-30T08:00:00Z) or a duration back from now
(24h). At least one of --id, --since, --until, --reason is required.
`

type replayOpts struct {
	filter clickhouse.ReplayFilter
	dryRun bool
	to     string
}

func cmdReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tajo replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage) }
	var o replayOpts
	cfgPath := fs.String("c", "pipeline.yaml", "the pipeline configuration `file`")
	fs.StringVar(cfgPath, "config", "pipeline.yaml", "the pipeline configuration `file`")
	fs.Func("id", "an event id to replay (repeatable)", func(s string) error {
		o.filter.IDs = append(o.filter.IDs, strings.TrimSpace(s))
		return nil
	})
	now := time.Now()
	fs.Func("since", "rows rejected at or after T", func(s string) (err error) { o.filter.Since, err = parseWhen(s, now); return })
	fs.Func("until", "rows rejected before T", func(s string) (err error) { o.filter.Until, err = parseWhen(s, now); return })
	fs.StringVar(&o.filter.Reason, "reason", "", "rows whose reason or code contains this, in any case")
	fs.StringVar(&o.filter.Shop, "shop", "", "only this shop domain")
	fs.IntVar(&o.filter.Limit, "limit", 10000, "at most this many rows")
	fs.StringVar(&o.to, "to", "", "the webhook endpoint (default http://<server.listen>/webhooks/shopify)")
	fs.BoolVar(&o.dryRun, "dry-run", false, "list what would be replayed and skipped; send nothing")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.filter.Empty() {
		fmt.Fprint(stderr, replayUsage)
		return 2
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return 1
	}
	comp := cfg.Component("connectors", "shopify")
	if comp == nil {
		fmt.Fprintf(stderr, "connectors.shopify is not enabled in %s: there is no webhook ingress to replay to\n", cfg.File)
		return 1
	}
	sc, ok := comp.Spec.(*shopify.Config)
	if !ok {
		fmt.Fprintf(stderr, "connectors.shopify: unexpected config %T\n", comp.Spec)
		return 1
	}
	var err error
	if o.to == "" {
		if o.to, err = webhookURL(cfg.Server.Listen); err != nil && !o.dryRun {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	rd := shopify.NewRedeliverer(sc, now)
	r := &clickhouse.Replayer{
		Query: clickhouse.HistoryQuery(cfg),
		Rebuild: func(p []byte) (clickhouse.Redelivery, string) {
			d, why := rd.Rebuild(p)
			return clickhouse.Redelivery(d), why
		},
		URL:      o.to,
		Client:   &http.Client{Timeout: time.Minute},
		Out:      stdout,
		Progress: stderr,
	}
	rows, err := r.List(o.filter)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if r.Run(rows, o.dryRun) > 0 {
		return 1
	}
	return 0
}

// parseWhen reads an RFC 3339 time or a duration back from now.
func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339 (2026-11-30T08:00:00Z), a date, or a duration back from now (24h)", s)
}

// webhookURL is the Shopify endpoint of the webhook listener at listen; a
// wildcard host is reached on loopback.
func webhookURL(listen string) (string, error) {
	if listen == "" {
		return "", errors.New("server.listen is empty: the running tajo has no webhook listener to replay to (or pass --to)")
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("server.listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/webhooks/" + shopify.Source, nil
}
