package clickhouse

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// fakeHistory answers the replayer's two queries from rows and payloads
// kept in memory, as the JSON report would.
type fakeHistory struct {
	rows     []DeadLetterRow
	payloads map[string]string // event id → payload
}

func (f fakeHistory) query(sql string) ([]byte, error) {
	if strings.Contains(sql, "SELECT payload") {
		for id, p := range f.payloads {
			if strings.Contains(sql, "'"+id+"'") {
				return json.Marshal([]map[string]string{{"payload": p}})
			}
		}
		return []byte("[]"), nil
	}
	return json.Marshal(f.rows)
}

// A replay sends each event once (however many stages rejected it), skips
// what cannot be rebuilt with the reason, retries a 503, stops at a 401
// (every later delivery would meet it) and sums it all up; a dry run
// sends nothing and says what it would do.
func TestReplayerSendsSkipsRetriesAndStops(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	row := func(id, stage, payload string) DeadLetterRow {
		return DeadLetterRow{Time: at, Shop: "a.myshopify.com", Stage: stage, EventID: id, PayloadBytes: uint64(len(payload))}
	}
	h := fakeHistory{
		rows: []DeadLetterRow{row("e1", "sink:brevo", "ok"), row("e1", "sink:clickhouse", "ok"), row("e2", "sink:brevo", "flaky"),
			row("e3", "transform:decode", "bad"), row("e4", "sink:brevo", "gone"), row("e5", "sink:brevo", "refused"), row("e6", "sink:brevo", "ok")},
		payloads: map[string]string{"e1": "ok", "e2": "flaky", "e3": "bad", "e5": "refused", "e6": "ok"},
	}
	var mu sync.Mutex
	got := map[string]int{}
	ingress := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got[string(b)]++
		switch {
		case string(b) == "flaky" && got["flaky"] == 1:
			http.Error(w, "plugin restarting", http.StatusServiceUnavailable)
		case string(b) == "refused":
			http.Error(w, "bad hmac", http.StatusUnauthorized)
		}
	}))
	defer ingress.Close()
	rebuild := func(p []byte) (Redelivery, string) {
		if string(p) == "bad" {
			return Redelivery{}, "not a tajo event envelope (the record on Kafka was not one)"
		}
		return Redelivery{Topic: "customers/update", Header: http.Header{}, Body: p}, ""
	}
	var out, progress strings.Builder
	r := &Replayer{Query: h.query, Rebuild: rebuild, URL: ingress.URL, Client: ingress.Client(), Out: &out, Progress: &progress,
		Wait: func(int) time.Duration { return 0 }}
	rows, err := r.List(ReplayFilter{Reason: "x"})
	if err != nil {
		t.Fatal(err)
	}

	if failed := r.Run(rows, true); failed != 0 || len(got) != 0 {
		t.Fatalf("dry run: failed %d, sent %v", failed, got)
	}
	for _, want := range []string{"event_id  topic", "skip: not a tajo event envelope", "skip: the row is no longer in the error history",
		"dry run: would replay 4, would skip 2 (1 not a tajo event envelope; 1 the row is no longer in the error history)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	failed := r.Run(rows, false)
	if failed != 1 || got["ok"] != 1 || got["flaky"] != 2 || got["refused"] != 1 {
		t.Errorf("replay: failed %d, deliveries %v (want e1 once, e2 retried, e5 refused, e6 not sent after the 401)", failed, got)
	}
	for _, want := range []string{"skipped e3 (a.myshopify.com, transform:decode): not a tajo event envelope", "failed  e5 (a.myshopify.com, customers/update): the webhook listener refused the signature (401)",
		"replayed 2, skipped 2 (1 not a tajo event envelope; 1 the row is no longer in the error history), failed 1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("replay output lacks %q:\n%s", want, out.String())
		}
	}
}

// An answer's control characters are escaped before they reach a
// terminal.
func TestReplayerEscapesWhatComesFromOutside(t *testing.T) {
	ingress := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no\x1b[2Jthanks", http.StatusBadRequest)
	}))
	defer ingress.Close()
	h := fakeHistory{rows: []DeadLetterRow{{Shop: "evil\x07.myshopify.com", EventID: "e1", PayloadBytes: 1}}, payloads: map[string]string{"e1": "x"}}
	var out strings.Builder
	r := &Replayer{Query: h.query, URL: ingress.URL, Client: ingress.Client(), Out: &out, Progress: io.Discard,
		Rebuild: func(p []byte) (Redelivery, string) { return Redelivery{Header: http.Header{}, Body: p}, "" }}
	rows, _ := r.List(ReplayFilter{IDs: []string{"e1"}})
	r.Run(rows, false)
	if strings.ContainsAny(out.String(), "\x1b\x07") || !strings.Contains(out.String(), `answered 400: no\x1b[2Jthanks`) {
		t.Errorf("control characters reached the output: %q", out.String())
	}
}

// Without the history sink, a replay says it cannot read the error
// history, and why.
func TestHistoryQueryWithoutTheSink(t *testing.T) {
	cfg := &config.Config{File: "p.yaml", Components: map[string]map[string]*config.Component{}}
	_, err := HistoryQuery(cfg)("SELECT 1")
	if err == nil || err.Error() != "reading the error history: the sync history lives in sinks.clickhouse, which is not enabled in p.yaml" {
		t.Errorf("got %v", err)
	}
}

type declares struct{ checks [][2]string }

func (d declares) EachCheck(fn func(service, shop string)) {
	for _, c := range d.checks {
		fn(c[0], c[1])
	}
}

// The checks a status expects are those the enabled components declare,
// connectors before sinks.
func TestExpectedChecksAreTheDeclaredOnes(t *testing.T) {
	cfg := &config.Config{Components: map[string]map[string]*config.Component{
		"connectors": {"store": {Enabled: true, Spec: declares{[][2]string{{"shopify", "a.myshopify.com"}, {"shopify", "b.myshopify.com"}}}}},
		"sinks": {"mail": {Enabled: true, Spec: declares{[][2]string{{"brevo", ""}}}},
			"off": {Enabled: false, Spec: declares{[][2]string{{"off", ""}}}}},
	}}
	got := fmt.Sprint(ExpectedChecks(cfg))
	if want := "[{shopify a.myshopify.com} {shopify b.myshopify.com} {brevo }]"; got != want {
		t.Errorf("expected checks %s, want %s", got, want)
	}
}
