package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// testReplaySelection: ListSQL chooses rows by id, time and reason (any
// case) on both backends, and PayloadSQL gives back a payload of several
// megabytes whole, byte for byte, through the JSON report the CLI reads.
func testReplaySelection(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.FlushInterval = 10 * time.Millisecond
	db, _, _ := h.open(t, cfg)
	shop := "replay.myshopify.com"
	ev := newEvent(shop, "order_placed", "order", "1", t0, `{}`)
	// A 6 MiB webhook body, with the characters text formats must carry.
	ev.Raw = json.RawMessage(`{"note":"` + strings.Repeat(`ñ 🛒 \t \\ \" '`, 6<<20/20) + `"}`)
	big, _ := json.Marshal(ev)
	dls := []pipeline.DeadLetter{
		{Time: t0, Stage: "sink:brevo", Class: pipeline.Rejected, Code: "invalid_parameter", Reason: "Email is not valid: «nobody»", Key: []byte(shop), Payload: big},
		{Time: t0.Add(time.Hour), Stage: "transform:decode", Class: pipeline.Rejected, Code: "bad_json", Reason: "not JSON", Key: []byte(shop), Payload: []byte("x")},
	}
	if err := db.RecordDeadLetters(ctx, dls); err != nil {
		t.Fatal(err)
	}
	list := func(f ReplayFilter) []DeadLetterRow {
		t.Helper()
		var out bytes.Buffer
		if err := db.Report(ctx, ReportRequest{Kind: "query", SQL: f.ListSQL(), JSON: true}, &out); err != nil {
			t.Fatalf("%s: %v", f.ListSQL(), err)
		}
		rows, err := ParseDeadLetterRows(out.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	for name, c := range map[string]struct {
		f    ReplayFilter
		want int
	}{
		"id":          {ReplayFilter{IDs: []string{ev.ID}}, 1},
		"reason":      {ReplayFilter{Reason: "EMAIL IS"}, 1},
		"code":        {ReplayFilter{Reason: "bad_json"}, 1},
		"since":       {ReplayFilter{Since: t0.Add(time.Minute)}, 1},
		"until":       {ReplayFilter{Until: t0.Add(time.Minute)}, 1},
		"window":      {ReplayFilter{Since: t0, Until: t0.Add(2 * time.Hour)}, 2},
		"other shop":  {ReplayFilter{Since: t0, Shop: "other.myshopify.com"}, 0},
		"limit":       {ReplayFilter{Since: t0, Limit: 1}, 1},
		"no such row": {ReplayFilter{IDs: []string{"nope"}}, 0},
	} {
		if got := list(c.f); len(got) != c.want {
			t.Errorf("%s: %d rows, want %d: %+v", name, len(got), c.want, got)
		}
	}
	rows := list(ReplayFilter{IDs: []string{ev.ID}})
	if len(rows) != 1 || rows[0].PayloadBytes != uint64(len(big)) || rows[0].Shop != shop || rows[0].Stage != "sink:brevo" || !rows[0].Time.Equal(t0) {
		t.Fatalf("listed %+v, want one row of %d bytes", rows, len(big))
	}
	var out bytes.Buffer
	if err := db.Report(ctx, ReportRequest{Kind: "query", SQL: PayloadSQL(rows[0]), JSON: true}, &out); err != nil {
		t.Fatal(err)
	}
	p, ok, err := ParsePayload(out.Bytes())
	if err != nil || !ok || !bytes.Equal(p, big) {
		t.Fatalf("payload: %d bytes (ok %v, %v), want the %d stored", len(p), ok, err, len(big))
	}
}
