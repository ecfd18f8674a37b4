package brevo

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/backoff"
)

// ImportContact is one jsonBody item of POST /contacts/import. The import
// schema has only email and attributes, so ExtID travels as the EXT_ID
// attribute, the column name Brevo's importer maps to ext_id.
type ImportContact struct {
	Email      string
	ExtID      string
	Attributes map[string]any
}

func (ic ImportContact) MarshalJSON() ([]byte, error) {
	attrs := ic.Attributes
	if ic.ExtID != "" {
		attrs = make(map[string]any, len(ic.Attributes)+1)
		for k, v := range ic.Attributes {
			attrs[k] = v
		}
		attrs["EXT_ID"] = ic.ExtID
	}
	return jsonMarshal(struct {
		Email      string         `json:"email,omitempty"`
		Attributes map[string]any `json:"attributes,omitempty"`
	}{ic.Email, attrs})
}

// ImportRequest is a contact import. Contacts may be any number: the client
// splits them into requests under the configured byte limit, each its own
// Brevo process.
type ImportRequest struct {
	Contacts []ImportContact
	ListIDs  []int64
	// UpdateExistingContacts nil keeps Brevo's default (true).
	UpdateExistingContacts *bool
	// EmptyContactsAttributes: empty values erase existing attributes.
	EmptyContactsAttributes bool
	EmailBlacklist          bool
	SMSBlacklist            bool
	DisableNotification     bool
	NotifyURL               string
}

type importBody struct {
	JSONBody                []json.RawMessage `json:"jsonBody"`
	ListIDs                 []int64           `json:"listIds,omitempty"`
	UpdateExistingContacts  *bool             `json:"updateExistingContacts,omitempty"`
	EmptyContactsAttributes bool              `json:"emptyContactsAttributes,omitempty"`
	EmailBlacklist          bool              `json:"emailBlacklist,omitempty"`
	SMSBlacklist            bool              `json:"smsBlacklist,omitempty"`
	DisableNotification     bool              `json:"disableNotification,omitempty"`
	NotifyURL               string            `json:"notifyUrl,omitempty"`
}

// Process is GET /processes/{processId}.
type Process struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Info   *struct {
		// Import maps a report kind (invalid_emails, duplicate_email_id,
		// duplicate_ext_id, …) to the URL of a CSV of the affected rows, or
		// null when there were none.
		Import map[string]*string `json:"import"`
	} `json:"info,omitempty"`
}

// Done reports whether the process reached a final state.
func (p *Process) Done() bool {
	switch p.Status {
	case "completed", "failed", "cancelled":
		return true
	}
	return false
}

// Reports returns the non-empty report URLs of a finished import, by kind.
func (p *Process) Reports() map[string]string {
	out := map[string]string{}
	if p.Info != nil {
		for k, v := range p.Info.Import {
			if v != nil && *v != "" {
				out[k] = *v
			}
		}
	}
	return out
}

// ImportBatch is one import request and the contacts it carried.
type ImportBatch struct {
	ProcessID int64
	Indexes   []int // into ImportRequest.Contacts
}

// StartImport sends the import requests and returns one batch per Brevo
// process. errs[i] is set for contacts rejected before sending (one contact
// larger than the whole limit). A failed request stops the import: the
// batches already started are returned with the error, and the caller may
// resend everything, since imports are upserts.
func (c *Client) StartImport(ctx context.Context, req ImportRequest) (batches []ImportBatch, errs []error, err error) {
	errs = make([]error, len(req.Contacts))
	if len(req.ListIDs) == 0 {
		return nil, errs, pipeline.Reject("missing_parameter", errors.New("brevo POST /contacts/import: listIds is required"))
	}
	head := importBody{
		JSONBody: []json.RawMessage{}, ListIDs: req.ListIDs, UpdateExistingContacts: req.UpdateExistingContacts,
		EmptyContactsAttributes: req.EmptyContactsAttributes, EmailBlacklist: req.EmailBlacklist,
		SMSBlacklist: req.SMSBlacklist, DisableNotification: req.DisableNotification, NotifyURL: req.NotifyURL,
	}
	empty, err := jsonMarshal(head)
	if err != nil {
		return nil, errs, fmt.Errorf("brevo POST /contacts/import: encoding: %w", err)
	}
	overhead := len(empty)

	raw := make([]json.RawMessage, len(req.Contacts))
	var groups [][]int
	var cur []int
	size := overhead
	for i, ct := range req.Contacts {
		b, err := jsonMarshal(ct)
		if err != nil {
			errs[i] = pipeline.Reject("invalid_parameter", fmt.Errorf("brevo import contact %d: %w", i, err))
			continue
		}
		if overhead+len(b) > c.importMax {
			errs[i] = pipeline.Reject(CodeContactTooLarge, fmt.Errorf(
				"brevo import contact %d: %d bytes encoded, over the %d-byte import request limit", i, len(b), c.importMax))
			continue
		}
		raw[i] = b
		add := len(b)
		if len(cur) > 0 {
			add++
		}
		if len(cur) > 0 && size+add > c.importMax {
			groups = append(groups, cur)
			cur, size, add = nil, overhead, len(b)
		}
		cur = append(cur, i)
		size += add
	}
	if len(cur) > 0 {
		groups = append(groups, cur)
	}

	for _, g := range groups {
		body := head
		body.JSONBody = make([]json.RawMessage, len(g))
		for k, i := range g {
			body.JSONBody[k] = raw[i]
		}
		var out struct {
			ProcessID int64 `json:"processId"`
		}
		if _, err := c.postJSON(ctx, "POST /contacts/import", "/contacts/import", body, &out); err != nil {
			return batches, errs, err
		}
		batches = append(batches, ImportBatch{ProcessID: out.ProcessID, Indexes: g})
	}
	return batches, errs, nil
}

// GetProcess reads a background process.
func (c *Client) GetProcess(ctx context.Context, id int64) (*Process, error) {
	var p Process
	_, err := c.do(ctx, request{method: http.MethodGet, route: "GET /processes/{processId}",
		path: "/processes/" + strconv.FormatInt(id, 10), out: &p})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// WaitProcess polls a process until it is final. Transient poll failures are
// retried (a few in a row, honouring a 429's wait) rather than returned,
// because the process runs on regardless of our polling.
func (c *Client) WaitProcess(ctx context.Context, id int64) (*Process, error) {
	return c.pollProcess(ctx, id, func(ctx context.Context, n int, wait time.Duration) (*Process, error) {
		if n == 0 {
			return nil, nil
		}
		return nil, backoff.Sleep(ctx, wait)
	})
}

// maxPollWait bounds the wait between two polls of one process.
const maxPollWait = time.Minute

// pollProcess polls a process until it is final. pace runs before poll n
// (0 for the first) with the wait the last answer asks for: the poll
// interval, then twice as long after each further poll that found the
// process still running (interval, interval, 2×, 4×, … at most
// maxPollWait), so that an import of minutes costs a few
// polls of the hourly budget, not one every interval; or a 429's reset.
// pace returns early with ctx's error, or with the final process when it
// learned it without a poll (a notifyUrl call, completion.go).
func (c *Client) pollProcess(ctx context.Context, id int64, pace func(ctx context.Context, n int, wait time.Duration) (*Process, error)) (*Process, error) {
	failures := 0
	wait := c.poll
	for n := 0; ; n++ {
		p, err := pace(ctx, n, wait)
		if err != nil {
			return nil, pipeline.Retry(fmt.Errorf("waiting for brevo process %d: %w", id, err))
		}
		if p != nil && p.Done() {
			return p, nil
		}
		p, err = c.GetProcess(ctx, id)
		wait = min(c.poll<<min(n, 16), max(maxPollWait, c.poll))
		switch {
		case err == nil:
			failures = 0
			if p.Done() {
				return p, nil
			}
		case pipeline.ClassOf(err) == pipeline.Retryable && ctx.Err() == nil && failures < 5:
			failures++
			if d, ok := RetryAfter(err); ok && d > wait {
				wait = d
			}
		default:
			return nil, fmt.Errorf("waiting for brevo process %d: %w", id, err)
		}
	}
}

// ImportResult is the outcome of Import.
type ImportResult struct {
	Processes []*Process
	// Errs[i] is what is known to have gone wrong with Contacts[i]: a
	// rejection before sending, or a row of one of Brevo's import reports
	// (invalid email, duplicate identifier). nil means Brevo reported nothing
	// against it.
	Errs []error
	// ReportErrs lists report URLs that could not be read, so the caller
	// knows per-contact outcomes may be incomplete.
	ReportErrs []error
}

// Import runs a contact import to completion: it starts the requests, waits
// for every process, and maps Brevo's per-contact reports back to the
// contacts. A process that ends failed or cancelled is a Retryable error
// (re-importing is an upsert).
func (c *Client) Import(ctx context.Context, req ImportRequest) (*ImportResult, error) {
	return c.runImport(ctx, req, c.WaitProcess)
}

// runImport is Import with wait telling when each process is final.
func (c *Client) runImport(ctx context.Context, req ImportRequest, wait func(ctx context.Context, id int64) (*Process, error)) (*ImportResult, error) {
	batches, errs, err := c.StartImport(ctx, req)
	res := &ImportResult{Errs: errs}
	if err != nil {
		return res, err
	}
	for _, b := range batches {
		p, err := wait(ctx, b.ProcessID)
		if err != nil {
			return res, err
		}
		res.Processes = append(res.Processes, p)
		if p.Status != "completed" {
			return res, pipeline.Retry(fmt.Errorf("brevo import process %d ended %s", p.ID, p.Status))
		}
		c.applyReports(ctx, p, req.Contacts, b.Indexes, res)
	}
	return res, nil
}

// reportCode maps a report kind to the code of the rejection it implies.
func reportCode(kind string) string {
	if strings.HasPrefix(kind, "duplicate_") {
		return "duplicate_parameter"
	}
	return "invalid_parameter"
}

func (c *Client) applyReports(ctx context.Context, p *Process, contacts []ImportContact, idx []int, res *ImportResult) {
	reports := p.Reports()
	kinds := make([]string, 0, len(reports))
	for k := range reports {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		rows, err := c.FetchImportReport(ctx, reports[kind])
		if err != nil {
			res.ReportErrs = append(res.ReportErrs, fmt.Errorf("process %d report %s: %w", p.ID, kind, err))
			continue
		}
		bad := make(map[string]bool, len(rows))
		for _, r := range rows {
			bad[strings.ToLower(strings.TrimSpace(r))] = true
		}
		// A duplicate report names the identifier, not the row; the first
		// row with it is the one Brevo imported.
		dup := strings.HasPrefix(kind, "duplicate_")
		first := map[string]bool{}
		for _, i := range idx {
			ct := contacts[i]
			for _, id := range []string{strings.ToLower(ct.Email), strings.ToLower(ct.ExtID)} {
				if id == "" || !bad[id] {
					continue
				}
				if dup && !first[id] {
					first[id] = true
					continue
				}
				res.Errs[i] = pipeline.Reject(reportCode(kind), fmt.Errorf("brevo import process %d listed this contact in %s", p.ID, kind))
				break
			}
		}
	}
}

// FetchImportReport downloads one import report CSV and returns the
// identifier column of its rows (the EMAIL column, else the first one). The
// api-key is not sent: report URLs are pre-signed and may be on another host.
func (c *Client) FetchImportReport(ctx context.Context, reportURL string) ([]string, error) {
	u, err := url.Parse(reportURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("report url is not absolute http(s)")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reportURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("report download: HTTP %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return nil, err
	}
	return parseReport(string(data))
}

func parseReport(text string) ([]string, error) {
	first, _, _ := strings.Cut(text, "\n")
	r := csv.NewReader(strings.NewReader(text))
	if strings.Count(first, ";") > strings.Count(first, ",") {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("report csv: %w", err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	col := 0
	for j, h := range recs[0] {
		if strings.EqualFold(strings.TrimSpace(h), "EMAIL") {
			col = j
		}
	}
	var out []string
	for _, rec := range recs[1:] {
		if col < len(rec) && rec[col] != "" {
			out = append(out, rec[col])
		}
	}
	return out, nil
}
