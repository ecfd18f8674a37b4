package transforms

import (
	"bytes"
	"strings"
	"testing"
)

func TestRunTestsReportsDiffs(t *testing.T) {
	cfg := parse(t, `transforms:
  stages:
    - {name: guard, type: guard}
    - {name: m, type: map, fields: {X: "1.0 / (customer.id - 5)", NAME: customer.first_name}}
    - {name: r, type: route, sinks: {brevo: "true", clickhouse: "false"}}
tests:
  - name: routes
    input: &ev {schema: tajo.event.v1, id: "1", source: s, shop: s.myshopify.com, type: customer_updated,
                occurred_at: 2026-11-27T10:00:00Z, received_at: 2026-11-27T10:00:00Z,
                entity: {kind: customer, id: "1"}, data: {id: 1, first_name: Ann}}
    expect: {sinks: [brevo], attributes: {X: -0.25, NAME: Ann}}
  - name: stops at a stage
    stage: guard
    input: *ev
    expect: {attributes: {}}
  - name: rejects
    input: {schema: tajo.event.v1, id: "2", source: s, shop: s.myshopify.com, type: customer_updated,
            occurred_at: 2026-11-27T10:00:00Z, entity: {kind: customer, id: "5"}, data: {id: 5}}
    expect: {rejected: "not a finite number"}
  - name: a wrong expectation
    input: *ev
    expect: {attributes: {NAME: Bob, EXTRA: 1}, dropped: false}
`)
	var w bytes.Buffer
	if n := RunTests(cfg, &w); n != 1 {
		t.Fatalf("%d failures:\n%s", n, w.String())
	}
	out := w.String()
	for _, want := range []string{"PASS  routes", "PASS  stops at a stage", "PASS  rejects", "FAIL  a wrong expectation",
		`attributes.NAME: want "Bob", got "Ann"`, "attributes.EXTRA: want 1, missing", "attributes.X: unexpected, got -0.25", "4 test(s), 1 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
