package clickhouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tajo/tajo/pipeline/backoff"
	"github.com/tajo/tajo/pipeline/config"
)

// Redelivery is one delivery to send again, as the connector that
// received it rebuilt it from its payload (shopify.Redeliverer).
type Redelivery struct {
	Topic  string
	Header http.Header
	Body   []byte
}

// replayMaxAttempts bounds the attempts of one delivery the ingress answers
// 429, 5xx or not at all; it answers 503 while a plugin restarts.
const replayMaxAttempts = 4

// Replayer sends the error_history rows a ReplayFilter chooses through the
// running pipeline again: each row's payload is rebuilt into its delivery
// by the connector that received it and posted to its webhook listener.
// One event rejected by several stages is one delivery.
type Replayer struct {
	// Query runs a read-only query and returns its JSON report
	// (HistoryQuery).
	Query func(sql string) ([]byte, error)
	// Rebuild turns a payload into its delivery, or says why there is none.
	Rebuild func(payload []byte) (Redelivery, string)
	URL     string // the webhook endpoint
	Client  *http.Client
	// Out gets a line per row and the summary; Progress a line every 2s
	// of a long replay.
	Out, Progress io.Writer
	// Wait is the pause before retry n (default n-1 seconds).
	Wait func(n int) time.Duration
}

// HistoryQuery reads the history of cfg's pipeline as the other history
// commands do (ReportFrom: from the store, or through the running tajo
// that holds it).
func HistoryQuery(cfg *config.Config) func(sql string) ([]byte, error) {
	return func(sql string) ([]byte, error) {
		var out bytes.Buffer
		if err := ReportFrom(cfg, ReportRequest{Kind: "query", SQL: sql, JSON: true}, &out); err != nil {
			return nil, fmt.Errorf("reading the error history: %s", strings.TrimSpace(err.Error()))
		}
		return out.Bytes(), nil
	}
}

// List reads the rows f chooses.
func (r *Replayer) List(f ReplayFilter) ([]DeadLetterRow, error) {
	b, err := r.Query(f.ListSQL())
	if err != nil {
		return nil, err
	}
	return ParseDeadLetterRows(b)
}

func (r *Replayer) payload(row DeadLetterRow) ([]byte, error) {
	b, err := r.Query(PayloadSQL(row))
	if err != nil {
		return nil, err
	}
	p, ok, err := ParsePayload(b)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, errors.New("the row is no longer in the error history")
	case uint64(len(p)) != row.PayloadBytes:
		return nil, fmt.Errorf("read %d of the payload's %d bytes", len(p), row.PayloadBytes)
	}
	return p, nil
}

// errStop is a failure every later delivery would meet too.
type errStop struct{ error }

// Run replays rows, or with dryRun lists what would be replayed and
// skipped and sends nothing. It returns how many deliveries failed.
func (r *Replayer) Run(rows []DeadLetterRow, dryRun bool) (failed int) {
	var table *tabwriter.Writer
	if dryRun {
		table = tabwriter.NewWriter(r.Out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(table, "rejected\tshop\tstage\tevent_id\ttopic\tbytes\taction")
	}
	var sent int
	skips := map[string]int{}
	seen := map[string]bool{}
	lastProgress := time.Now()
	for i, row := range rows {
		if time.Since(lastProgress) > 2*time.Second {
			fmt.Fprintf(r.Progress, "tajo replay: %d/%d rows, replayed %d\n", i, len(rows), sent)
			lastProgress = time.Now()
		}
		// One event rejected by several stages is one delivery.
		if seen[row.EventID] {
			continue
		}
		seen[row.EventID] = true
		var d Redelivery
		payload, err := r.payload(row)
		why := ""
		if err != nil {
			why = err.Error()
		} else {
			d, why = r.Rebuild(payload)
		}
		if dryRun {
			action := "replay"
			if why != "" {
				action = "skip: " + why
				skips[skipKind(why)]++
			} else {
				sent++
			}
			fmt.Fprintf(table, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", row.Time.UTC().Format(time.RFC3339), printable(row.Shop), row.Stage, row.EventID, printable(d.Topic), row.PayloadBytes, action)
			continue
		}
		if why != "" {
			skips[skipKind(why)]++
			fmt.Fprintf(r.Out, "skipped %s (%s, %s): %s\n", row.EventID, printable(row.Shop), row.Stage, why)
			continue
		}
		if err := r.send(d); err != nil {
			failed++
			fmt.Fprintf(r.Out, "failed  %s (%s, %s): %v\n", row.EventID, printable(row.Shop), d.Topic, err)
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
		fmt.Fprintf(r.Out, "dry run: would replay %d, would skip %d%s\n", sent, total(skips), skipSummary(skips))
		return 0
	}
	fmt.Fprintf(r.Out, "replayed %d, skipped %d%s, failed %d\n", sent, total(skips), skipSummary(skips), failed)
	return failed
}

// send posts one delivery, retrying what the ingress may answer better in
// a moment (429, 5xx, no answer).
func (r *Replayer) send(d Redelivery) error {
	var last error
	for attempt := 1; attempt <= replayMaxAttempts; attempt++ {
		if attempt > 1 {
			time.Sleep(r.wait(attempt))
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, r.URL, bytes.NewReader(d.Body))
		if err != nil {
			return errStop{err}
		}
		req.Header = d.Header.Clone()
		resp, err := r.Client.Do(req)
		if err != nil {
			last = fmt.Errorf("no answer from %s (is tajo run running?): %w", r.URL, err)
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
			return errStop{fmt.Errorf("%s answered 404: not a tajo webhook endpoint (check server.listen or --to)", r.URL)}
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			last = fmt.Errorf("answered %d: %s", resp.StatusCode, printable(strings.TrimSpace(string(msg))))
			continue
		default:
			return fmt.Errorf("answered %d: %s", resp.StatusCode, printable(strings.TrimSpace(string(msg))))
		}
	}
	return last
}

// replayBackoff spaces the attempts of one delivery: 1 s, 2 s, 4 s.
var replayBackoff = backoff.Policy{Initial: time.Second, Multiplier: 2, Jitter: 0.1}

func (r *Replayer) wait(attempt int) time.Duration {
	if r.Wait != nil {
		return r.Wait(attempt)
	}
	return replayBackoff.Delay(attempt - 1)
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
	keys := slices.Sorted(maps.Keys(m))
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
