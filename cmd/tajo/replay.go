package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
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

// replayMaxAttempts bounds the attempts of one delivery the ingress answers
// 429, 5xx or not at all; it answers 503 while a plugin restarts.
const replayMaxAttempts = 4

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
	secrets, err := shopSecrets(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if o.to == "" {
		if o.to, err = webhookURL(cfg.Server.Listen); err != nil && !o.dryRun {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	store := historyReader{cfg: cfg, stderr: stderr}
	rows, err := store.list(o.filter)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	r := &replayer{store: store, secrets: secrets, url: o.to, now: now, stdout: stdout, stderr: stderr,
		client: &http.Client{Timeout: time.Minute}}
	return r.run(rows, o.dryRun)
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

// shopSecrets are the api_secret of each configured store, the secret the
// ingress verifies that shop's deliveries with.
func shopSecrets(cfg *config.Config) (map[string]string, error) {
	comp := cfg.Component("connectors", "shopify")
	if comp == nil {
		return nil, fmt.Errorf("connectors.shopify is not enabled in %s: there is no webhook ingress to replay to", cfg.File)
	}
	sc, ok := comp.Spec.(*shopify.Config)
	if !ok {
		return nil, fmt.Errorf("connectors.shopify: unexpected config %T", comp.Spec)
	}
	out := map[string]string{}
	for _, st := range sc.StoreList() {
		if st.APISecret != "" {
			out[st.ShopURL] = st.APISecret.Reveal()
		}
	}
	return out, nil
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

// historyReader reads error_history the way the other history commands do:
// from the store, or through the running tajo that holds it.
type historyReader struct {
	cfg    *config.Config
	stderr io.Writer
}

func (h historyReader) query(sql string) ([]byte, error) {
	var out, errb bytes.Buffer
	if report(h.cfg, clickhouse.ReportRequest{Kind: "query", SQL: sql, JSON: true}, &out, &errb) != 0 {
		return nil, fmt.Errorf("reading the error history: %s", strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func (h historyReader) list(f clickhouse.ReplayFilter) ([]clickhouse.DeadLetterRow, error) {
	b, err := h.query(f.ListSQL())
	if err != nil {
		return nil, err
	}
	return clickhouse.ParseDeadLetterRows(b)
}

func (h historyReader) payload(r clickhouse.DeadLetterRow) ([]byte, error) {
	b, err := h.query(clickhouse.PayloadSQL(r))
	if err != nil {
		return nil, err
	}
	p, ok, err := clickhouse.ParsePayload(b)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, errors.New("the row is no longer in the error history")
	case uint64(len(p)) != r.PayloadBytes:
		return nil, fmt.Errorf("read %d of the payload's %d bytes", len(p), r.PayloadBytes)
	}
	return p, nil
}

// delivery is one Shopify webhook request, rebuilt from an envelope.
type delivery struct {
	header http.Header
	body   []byte
	topic  string
}

// replayed matches the suffix a replay adds to a webhook id, so a replay of
// a replay derives from the original again.
var replayed = regexp.MustCompile(`\.replay\.\d+$`)

// rebuild turns a dead letter's payload into the delivery to send, or says
// why there is none.
func rebuild(payload []byte, secrets map[string]string, now time.Time) (delivery, string) {
	var ev schemas.Event
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Schema != schemas.EventSchema {
		return delivery{}, "not a tajo event envelope (the record on Kafka was not one)"
	}
	switch {
	case ev.Source == shopify.SourceBackfill || strings.HasSuffix(ev.Topic, "/reconcile"):
		return delivery{}, "a backfill or reconcile record has no webhook to send again: it is read again by the next reconciliation"
	case ev.Source != shopify.Source:
		return delivery{}, fmt.Sprintf("not a Shopify webhook (source %q)", ev.Source)
	case len(bytes.TrimSpace(ev.Raw)) == 0:
		return delivery{}, "the envelope has no raw webhook body"
	}
	h := http.Header{}
	for k, v := range ev.Headers {
		h.Set(k, v)
	}
	setDefault := func(k, v string) {
		if h.Get(k) == "" && v != "" {
			h.Set(k, v)
		}
	}
	setDefault(shopify.HeaderTopic, ev.Topic)
	setDefault(shopify.HeaderShopDomain, ev.Shop)
	setDefault(shopify.HeaderAPIVersion, ev.APIVersion)
	// Without it the replay would be dated by its own receive time, and a
	// later genuine update could look stale next to it.
	setDefault(shopify.HeaderTriggeredAt, ev.OccurredAt.UTC().Format(time.RFC3339Nano))
	shop := strings.ToLower(h.Get(shopify.HeaderShopDomain))
	secret, ok := secrets[shop]
	if !ok {
		return delivery{}, fmt.Sprintf("shop %q is not a store of connectors.shopify (no api_secret to sign with)", shop)
	}
	orig := h.Get(shopify.HeaderWebhookID)
	if orig == "" {
		orig = ev.ID
	}
	h.Set(shopify.HeaderWebhookID, fmt.Sprintf("%s.replay.%d", replayed.ReplaceAllString(orig, ""), now.Unix()))
	body := []byte(ev.Raw)
	h.Set(shopify.HeaderHMAC, shopify.Sign(body, secret))
	h.Set("Content-Type", "application/json")
	return delivery{header: h, body: body, topic: h.Get(shopify.HeaderTopic)}, ""
}

type replayer struct {
	store   historyReader
	secrets map[string]string
	url     string
	now     time.Time
	client  *http.Client
	stdout  io.Writer
	stderr  io.Writer
}

// errStop is a failure every later delivery would meet too.
type errStop struct{ error }

func (r *replayer) run(rows []clickhouse.DeadLetterRow, dryRun bool) int {
	var table *tabwriter.Writer
	if dryRun {
		table = tabwriter.NewWriter(r.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(table, "rejected\tshop\tstage\tevent_id\ttopic\tbytes\taction")
	}
	var sent, failed int
	skips := map[string]int{}
	seen := map[string]bool{}
	lastProgress := time.Now()
	for i, row := range rows {
		if time.Since(lastProgress) > 2*time.Second {
			fmt.Fprintf(r.stderr, "tajo replay: %d/%d rows, replayed %d\n", i, len(rows), sent)
			lastProgress = time.Now()
		}
		// One event rejected by several stages is one delivery.
		if seen[row.EventID] {
			continue
		}
		seen[row.EventID] = true
		var d delivery
		payload, err := r.store.payload(row)
		why := ""
		if err != nil {
			why = err.Error()
		} else {
			d, why = rebuild(payload, r.secrets, r.now)
		}
		if dryRun {
			action := "replay"
			if why != "" {
				action = "skip: " + why
				skips[skipKind(why)]++
			} else {
				sent++
			}
			fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", row.Time.UTC().Format(time.RFC3339), printable(row.Shop), row.Stage, row.EventID, printable(d.topic), row.PayloadBytes, action)
			continue
		}
		if why != "" {
			skips[skipKind(why)]++
			fmt.Fprintf(r.stdout, "skipped %s (%s, %s): %s\n", row.EventID, printable(row.Shop), row.Stage, why)
			continue
		}
		if err := r.send(d); err != nil {
			failed++
			fmt.Fprintf(r.stdout, "failed  %s (%s, %s): %v\n", row.EventID, printable(row.Shop), d.topic, err)
			var stop errStop
			if errors.As(err, &stop) {
				break
			}
			continue
		}
		sent++
	}
	if dryRun {
		table.Flush()
		fmt.Fprintf(r.stdout, "dry run: would replay %d, would skip %d%s\n", sent, total(skips), skipSummary(skips))
		return 0
	}
	fmt.Fprintf(r.stdout, "replayed %d, skipped %d%s, failed %d\n", sent, total(skips), skipSummary(skips), failed)
	if failed > 0 {
		return 1
	}
	return 0
}

// send posts one delivery, retrying what the ingress may answer better in
// a moment (429, 5xx, no answer).
func (r *replayer) send(d delivery) error {
	var last error
	for attempt := 1; attempt <= replayMaxAttempts; attempt++ {
		if attempt > 1 {
			time.Sleep(time.Duration(attempt-1) * time.Second)
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, r.url, bytes.NewReader(d.body))
		if err != nil {
			return errStop{err}
		}
		req.Header = d.header.Clone()
		resp, err := r.client.Do(req)
		if err != nil {
			last = fmt.Errorf("no answer from %s (is tajo run running?): %w", r.url, err)
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		switch {
		case resp.StatusCode/100 == 2:
			return nil
		case resp.StatusCode == http.StatusUnauthorized:
			return errStop{fmt.Errorf("the webhook listener refused the signature (401): this shell's connectors.shopify api_secret is not the running tajo's (export the same SHOPIFY_API_SECRET)")}
		case resp.StatusCode == http.StatusNotFound:
			return errStop{fmt.Errorf("%s answered 404: not a tajo webhook endpoint (check server.listen or --to)", r.url)}
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("answered %d: %s", resp.StatusCode, printable(strings.TrimSpace(string(msg))))
			continue
		default:
			return fmt.Errorf("answered %d: %s", resp.StatusCode, printable(strings.TrimSpace(string(msg))))
		}
	}
	return last
}

// skipKind groups skip reasons for the summary: the text before any
// detail in parentheses or after a colon.
func skipKind(why string) string {
	if i := strings.IndexAny(why, "(:"); i > 0 {
		why = why[:i]
	}
	return strings.TrimSpace(why)
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func skipSummary(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", m[k], k)
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// printable escapes control characters of a stored string before it
// reaches a terminal (shop names and answers come from outside).
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return s
	}
	q := fmt.Sprintf("%q", s)
	return q[1 : len(q)-1]
}
