//go:build integration

package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestBrevoLiveFloodMakesNoLookups: customers/create posted one after
// another through the signed webhook endpoint (a live flood of new
// customers) reach Brevo without one GET /contacts/{identifier}: the sink
// knows, from its own writes and the read at its first start, that Brevo
// holds none of them. After a restart, updates of the same customers and
// new customers make none either, and the start reads only what changed
// since (one GET /contacts with modifiedSince). An email change, which can
// lift a blocklisting Brevo may have set since, still asks Brevo.
func TestBrevoLiveFloodMakesNoLookups(t *testing.T) {
	const secret, n = "known-secret", 200
	r := startWebhookRun(t, secret, "")
	srv := r.srv
	body := func(id int, email, first string, phone bool) []byte {
		p := "null"
		if phone {
			p = fmt.Sprintf(`"+336%08d"`, id)
		}
		return []byte(fmt.Sprintf(`{"id":%d,"email":%q,"first_name":%q,"phone":%s,"updated_at":"2026-11-01T00:00:%02d.%03dZ","created_at":"2026-11-01T00:00:00Z","email_marketing_consent":{"state":"subscribed"}}`,
			id, email, first, p, id/1000%60, id%1000))
	}
	post := func(from, to int, topic, prefix, first string) {
		for i := from; i <= to; i++ {
			postSigned(t, r.url, topic, fmt.Sprintf("%s-%d", prefix, i), secret, body(i, fmt.Sprintf("new.%d@example.com", i), first, i%2 == 0))
		}
	}
	attrIs := func(from, to int, first string) func() bool {
		return func() bool {
			for i := from; i <= to; i++ {
				c := srv.ContactByExtID(fmt.Sprint(i))
				if c == nil || c.Attributes["FIRSTNAME"] != first {
					return false
				}
			}
			return true
		}
	}
	lookups := func() int { return srv.RequestCount("GET /contacts/{identifier}") }

	start := time.Now()
	post(1, n, "customers/create", "create", "New")
	waitFor(t, "every new customer in Brevo", r.logPath, 120*time.Second, attrIs(1, n, "New"))
	t.Logf("live flood of %d new customers in %s: %d GET /contacts/{identifier}, %d POST /contacts, %d POST /contacts/import, %d GET /contacts; all routes %v",
		n, time.Since(start).Round(time.Millisecond), lookups(), srv.RequestCount("POST /contacts"), srv.RequestCount("POST /contacts/import"),
		srv.RequestCount("GET /contacts"), srv.RequestCounts())
	if got := lookups(); got != 0 {
		t.Errorf("%d lookups for %d new customers, want 0", got, n)
	}
	if got := srv.RequestCount("GET /contacts"); got != 1 {
		t.Errorf("the first start read Brevo's contacts in %d requests, want 1 (the account was empty)", got)
	}
	stopTajo(t, r.cmd, r.signal)

	// A restart: the knowledge is read back from the state store.
	cmd := startTajo(t, filepath.Join(r.dir, "pipeline.yaml"), r.logPath)
	waitFor(t, "the restarted webhook endpoint", r.logPath, 60*time.Second, func() bool { return srv.RequestCount("GET /contacts") == 2 })
	time.Sleep(200 * time.Millisecond)
	post(1, n/2, "customers/update", "update", "Again")
	post(n+1, n+n/2, "customers/create", "create", "Later")
	waitFor(t, "the updates and the later customers", r.logPath, 120*time.Second, func() bool {
		return attrIs(1, n/2, "Again")() && attrIs(n+1, n+n/2, "Later")()
	})
	if got := lookups(); got != 0 {
		t.Errorf("%d lookups after the restart, want 0", got)
	}
	// The email of customer 1 changes: the one case that asks Brevo.
	postSigned(t, r.url, "customers/update", "email-change", secret, body(1, "changed.1@example.com", "Changed", false))
	waitFor(t, "the email change", r.logPath, 60*time.Second, func() bool {
		c := srv.ContactByExtID("1")
		return c != nil && c.Email == "changed.1@example.com"
	})
	if got := lookups(); got != 1 {
		t.Errorf("%d lookups for one email change, want 1", got)
	}
	t.Logf("after the restart: %d GET /contacts/{identifier}, %d GET /contacts (the start's read of what changed); all routes %v",
		lookups(), srv.RequestCount("GET /contacts"), srv.RequestCounts())
	stopTajo(t, cmd, cmd.Process.Signal)
}
