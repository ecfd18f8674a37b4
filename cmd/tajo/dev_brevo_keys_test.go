package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tajo/tajo/sinks/brevo"
)

// devBrevoCall sends one request to the simulated Brevo account of cfg's
// sinks.brevo and returns its status and decoded body.
func devBrevoCall(t *testing.T, bc *brevo.SinkConfig, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, bc.BaseURL+path, strings.NewReader(body))
	req.Header.Set("api-key", bc.APIKey.Reveal())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// dev.brevo.import_time keeps the simulated account's imports in_process
// that long, import_time_per_contact longer for each contact: polled at
// once, an import of 3 contacts with 200ms + 100ms each is still running,
// and done after half a second.
func TestDevBrevoImportTimeKeepsImportsInProcess(t *testing.T) {
	_, cfg := devSimulators(t, "{simulate: always, brevo: {import_time: 200ms, import_time_per_contact: 100ms}}")
	bc := cfg.Component("sinks", "brevo").Spec.(*brevo.SinkConfig)
	status, a := devBrevoCall(t, bc, "POST", "/contacts/import",
		`{"listIds":[1],"jsonBody":[{"email":"a@example.com"},{"email":"b@example.com"},{"email":"c@example.com"}]}`)
	if status != http.StatusAccepted {
		t.Fatalf("import: %d %v", status, a)
	}
	start := time.Now()
	path := fmt.Sprintf("/processes/%v", a["processId"])
	for i := 0; i < 3; i++ {
		if _, p := devBrevoCall(t, bc, "GET", path, ""); p["status"] != "in_process" {
			t.Fatalf("poll %d: %v", i, p)
		}
	}
	for {
		_, p := devBrevoCall(t, bc, "GET", path, "")
		if p["status"] == "completed" {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("still %v after 5 s", p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Fatalf("an import of 3 contacts completed after %v, want 200ms + 3 × 100ms", took)
	}
}

// dev.brevo.general_tier rates the simulated account's endpoint groups
// apart, as Brevo does: with rate_limit 0, 21 contacts requests at once
// (two windows of 10 at most) are not all answered, while events still
// pass.
func TestDevBrevoGeneralTierLimitsEachGroup(t *testing.T) {
	_, cfg := devSimulators(t, "{simulate: always, brevo: {rate_limit: 0, general_tier: true}}")
	bc := cfg.Component("sinks", "brevo").Spec.(*brevo.SinkConfig)
	refused := 0
	for range 21 {
		if status, _ := devBrevoCall(t, bc, "GET", "/contacts/attributes", ""); status == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("21 contacts requests at once all answered with general_tier: true")
	}
	if status, body := devBrevoCall(t, bc, "POST", "/events", `{"event_name":"e","identifiers":{"ext_id":"1"}}`); status != http.StatusNoContent {
		t.Fatalf("an event after the contacts budget is spent: %d %v", status, body)
	}
}
