package clickhouse

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// ReportRequest is one of the history reports the CLI prints:
// `tajo connectors status|logs|history` and `tajo query`.
type ReportRequest struct {
	Kind  string        `json:"kind"` // status, logs, history, query or record_checks
	Shop  string        `json:"shop,omitempty"`
	Type  string        `json:"type,omitempty"` // logs: webhook, error or sync
	Last  time.Duration `json:"last,omitempty"` // logs: only rows this recent
	Limit int           `json:"limit,omitempty"`
	SQL   string        `json:"sql,omitempty"`
	// Limits bound a query's result and time (zero: the defaults).
	Limits Limits `json:"limits,omitzero"`
	JSON   bool   `json:"json,omitempty"` // JSON for scripts, else a table for people
	// Expect lists the checks a status needs before it says connected:
	// the stores and sinks the configuration has.
	Expect []ExpectedCheck `json:"expect,omitempty"`
	// Checks are what kind record_checks stores: the results of `tajo
	// connectors test`, written through the running tajo when it holds
	// the store.
	Checks []pipeline.ConnectionCheck `json:"checks,omitempty"`
}

// Report runs a report and renders it to w.
func (db *DB) Report(ctx context.Context, req ReportRequest, w io.Writer) error {
	var res *Result
	var err error
	switch req.Kind {
	case "status":
		st, err := db.Status(ctx, req.Shop, req.Expect...)
		if err != nil {
			return err
		}
		if req.JSON {
			return WriteStatusJSON(w, st)
		}
		return WriteStatusTable(w, st)
	case "record_checks":
		if err := db.RecordChecks(ctx, req.Checks); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "%d connection checks recorded\n", len(req.Checks))
		return err
	case "logs":
		res, err = db.Logs(ctx, LogFilter{Type: req.Type, Shop: req.Shop, Last: req.Last, Limit: req.Limit})
	case "history":
		res, err = db.History(ctx, req.Shop, req.Limit)
	case "query":
		res, err = db.ReadOnlyQuery(ctx, req.SQL, req.Limits)
	default:
		return fmt.Errorf("unknown report %q", req.Kind)
	}
	if err != nil {
		return err
	}
	if req.JSON {
		return WriteJSON(w, res)
	}
	return WriteTable(w, res)
}

// APIPath is where a running tajo answers reports on its control listener
// (control.listen, behind the control token), so the CLI can read a chDB
// history that the running process holds locked.
const APIPath = "/api/history"

// ErrUnauthorized is returned (wrapped) when a running tajo refuses the
// control token the CLI sent.
var ErrUnauthorized = errors.New("unauthorized: use the token of the running tajo (control.token, TAJO_CONTROL_TOKEN, or data_dir/control.token)")

// maxReportRequest bounds a report request body.
const maxReportRequest = 1 << 20

// APIHandler serves POST APIPath with a JSON ReportRequest, answering the
// rendered report as text. db returns the open store (nil before Open).
// It is mounted on the control listener only, whose guard checks the
// token; queries go through ReadOnlyQuery, and a refused one is a 403.
func APIHandler(db func() *DB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a JSON report request", http.StatusMethodNotAllowed)
			return
		}
		var req ReportRequest
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReportRequest))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			http.Error(w, "bad report request: "+err.Error(), http.StatusBadRequest)
			return
		}
		d := db()
		if d == nil {
			http.Error(w, "the history store is not open yet", http.StatusServiceUnavailable)
			return
		}
		var buf bytes.Buffer
		if err := d.Report(r.Context(), req, &buf); err != nil {
			code := http.StatusBadRequest
			var se *SQLError
			if errors.As(err, &se) {
				code = http.StatusForbidden
			}
			http.Error(w, err.Error(), code)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write(buf.Bytes())
	})
}

// RemoteReport asks the tajo whose control listener is addr for a report,
// with the control token.
func RemoteReport(ctx context.Context, addr, token string, req ReportRequest, w io.Writer) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+APIPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Authorization", "Bearer "+token)
	// Long enough for the longest query the limits allow.
	resp, err := (&http.Client{Timeout: CapQueryTimeout + 30*time.Second}).Do(hr)
	if err != nil {
		return fmt.Errorf("the history is locked by a running tajo, and asking it at %s failed: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("the tajo at %s refused the control token: %w", addr, ErrUnauthorized)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return errors.New(strings.TrimSpace(string(msg)))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
