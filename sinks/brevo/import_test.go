package brevo_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
)

func TestImportCompletesAndMapsReports(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{ImportPolls: 3})
	ctx := context.Background()
	srv.PutContact(brevotest.Contact{Email: "old@example.com", Attributes: map[string]any{"FIRSTNAME": "Keep", "LASTNAME": "Old"}})
	req := brevo.ImportRequest{
		ListIDs: []int64{1},
		Contacts: []brevo.ImportContact{
			{Email: "new@example.com", ExtID: "c-1", Attributes: map[string]any{"FIRSTNAME": "Åsa", "UNKNOWN": "ignored"}},
			{Email: "not an email"},
			{Email: "old@example.com", Attributes: map[string]any{"FIRSTNAME": "", "LASTNAME": "New"}},
			{Email: "NEW@example.com", ExtID: "c-2"},
		},
	}
	res, err := c.Import(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Processes) != 1 || res.Processes[0].Status != "completed" || len(res.ReportErrs) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if res.Errs[0] != nil || res.Errs[2] != nil {
		t.Fatalf("good rows failed: %v, %v", res.Errs[0], res.Errs[2])
	}
	wantClass(t, res.Errs[1], pipeline.Rejected, "invalid_parameter")
	wantClass(t, res.Errs[3], pipeline.Rejected, "duplicate_parameter")

	got := srv.Contact("new@example.com")
	if got == nil || got.ExtID != "c-1" || got.Attributes["FIRSTNAME"] != "Åsa" || len(got.ListIDs) != 1 {
		t.Fatalf("imported = %+v", got)
	}
	old := srv.Contact("old@example.com")
	if old.Attributes["FIRSTNAME"] != "Keep" || old.Attributes["LASTNAME"] != "New" {
		t.Fatalf("empty value erased without emptyContactsAttributes: %+v", old.Attributes)
	}
	if n := srv.RequestCount("GET /processes/{processId}"); n != 3 {
		t.Fatalf("%d polls, want 3", n)
	}
}

func TestImportSplitsUnderTheByteLimit(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{}, func(cfg *brevo.Config) { cfg.ImportMaxBytes = 2000 })
	var cts []brevo.ImportContact
	for i := 0; i < 50; i++ {
		cts = append(cts, brevo.ImportContact{Email: fmt.Sprintf("bulk%02d@example.com", i), Attributes: map[string]any{"LASTNAME": "Ñandú"}})
	}
	cts = append(cts, brevo.ImportContact{Email: "huge@example.com", Attributes: map[string]any{"LASTNAME": strings.Repeat("z", 3000)}})
	res, err := c.Import(context.Background(), brevo.ImportRequest{ListIDs: []int64{2}, Contacts: cts, UpdateExistingContacts: brevo.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	wantClass(t, res.Errs[50], pipeline.Rejected, brevo.CodeContactTooLarge)
	if len(res.Processes) < 2 {
		t.Fatalf("%d processes, want a split", len(res.Processes))
	}
	total := 0
	for _, p := range res.Processes {
		total += srv.ImportSize(p.ID)
	}
	if total != 50 || len(srv.ListMembers(2)) != 50 {
		t.Fatalf("imported %d, list has %d", total, len(srv.ListMembers(2)))
	}
}

func TestImportErrors(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{MaxImportBytes: 100})
	ctx := context.Background()
	_, err := c.Import(ctx, brevo.ImportRequest{Contacts: []brevo.ImportContact{{Email: "a@example.com"}}})
	wantClass(t, err, pipeline.Rejected, "missing_parameter")
	// Brevo answering 413 (its limit is lower than ours) rejects the import.
	big := []brevo.ImportContact{{Email: "a@example.com", Attributes: map[string]any{"LASTNAME": strings.Repeat("q", 200)}}}
	_, err = c.Import(ctx, brevo.ImportRequest{ListIDs: []int64{1}, Contacts: big})
	wantClass(t, err, pipeline.Rejected, "bad_request")
	_, err = c.GetProcess(ctx, 999)
	wantClass(t, err, pipeline.Rejected, "invalid_parameter")
	if !brevo.IsNotFound(err) {
		t.Fatal("unknown process is not NotFound")
	}
	_ = srv
}

func TestWaitProcessRidesOutTransientFailures(t *testing.T) {
	srv, c := newPair(t, brevotest.Options{})
	ctx := context.Background()
	batches, _, err := c.StartImport(ctx, brevo.ImportRequest{ListIDs: []int64{1}, Contacts: []brevo.ImportContact{{Email: "w@example.com"}}})
	if err != nil || len(batches) != 1 {
		t.Fatalf("start: %v %v", batches, err)
	}
	srv.FailNext(2, 502)
	p, err := c.WaitProcess(ctx, batches[0].ProcessID)
	if err != nil || p.Status != "completed" {
		t.Fatalf("wait: %+v %v", p, err)
	}
	if srv.Contact("w@example.com") == nil {
		t.Fatal("not imported")
	}
}
