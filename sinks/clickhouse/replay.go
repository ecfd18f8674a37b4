package clickhouse

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ReplayFilter chooses the error_history rows `tajo replay` sends through
// the pipeline again. Conditions combine with AND; an empty filter chooses
// nothing (Empty), so a replay of everything is never an accident.
type ReplayFilter struct {
	IDs    []string  // event ids (error_history.event_id)
	Since  time.Time // rejected at or after; zero for no bound
	Until  time.Time // rejected before; zero for no bound
	Reason string    // a substring of the message or code, any case
	Shop   string    // "" for every shop
	Limit  int       // at most this many rows; 0 for no limit
}

// Empty reports whether f names no condition but the shop or the limit.
func (f ReplayFilter) Empty() bool {
	return len(f.IDs) == 0 && f.Since.IsZero() && f.Until.IsZero() && f.Reason == ""
}

// DeadLetterRow is one error_history row as replay reads it.
type DeadLetterRow struct {
	Time         time.Time `json:"ts"`
	Shop         string    `json:"shop"`
	Stage        string    `json:"stage"`
	Code         string    `json:"code"`
	Message      string    `json:"message"`
	EventID      string    `json:"event_id"`
	PayloadBytes uint64    `json:"payload_bytes"`
}

// ListSQL selects the rows f chooses, oldest first, without their
// payloads: a payload is up to a whole envelope (see PayloadSQL), so they
// are read one at a time. FINAL folds a record rejected again on
// redelivery into one row.
func (f ReplayFilter) ListSQL() string {
	var conds []string
	if len(f.IDs) > 0 {
		conds = append(conds, "event_id IN ("+quoteList(f.IDs)+")")
	}
	if !f.Since.IsZero() {
		conds = append(conds, fmt.Sprintf("ts >= toDateTime(%d)", f.Since.Unix()))
	}
	if !f.Until.IsZero() {
		conds = append(conds, fmt.Sprintf("ts < toDateTime(%d)", f.Until.Unix()))
	}
	if f.Reason != "" {
		r := quote(f.Reason)
		conds = append(conds, fmt.Sprintf("(positionCaseInsensitiveUTF8(message, %s) > 0 OR positionCaseInsensitiveUTF8(code, %s) > 0)", r, r))
	}
	if f.Shop != "" {
		conds = append(conds, "shop = "+quote(f.Shop))
	}
	q := "SELECT ts, shop, stage, code, message, event_id, length(payload) AS payload_bytes FROM error_history FINAL"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY ts, shop, event_id, stage"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return q
}

// PayloadSQL selects the payload of one row ListSQL listed.
//
// error_history keeps a payload whole, exactly as the stage rejected it
// (the record's Kafka value: for an event, its envelope with the raw
// webhook body). Its bound is the record's own: a record on Kafka is at
// most the broker's message size (broker.max_message_bytes), and nothing
// is cut on the way into the table.
func PayloadSQL(r DeadLetterRow) string {
	return fmt.Sprintf("SELECT payload FROM error_history FINAL WHERE shop = %s AND stage = %s AND event_id = %s LIMIT 1",
		quote(r.Shop), quote(r.Stage), quote(r.EventID))
}

// ParseDeadLetterRows reads the JSON report (WriteJSON) of ListSQL.
func ParseDeadLetterRows(b []byte) ([]DeadLetterRow, error) {
	var rows []DeadLetterRow
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("error_history rows: %w", err)
	}
	return rows, nil
}

// ParsePayload reads the JSON report of PayloadSQL; ok is false when the
// row is gone (retention dropped it meanwhile).
func ParsePayload(b []byte) (payload []byte, ok bool, err error) {
	var rows []struct {
		Payload string `json:"payload"`
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, false, fmt.Errorf("error_history payload: %w", err)
	}
	if len(rows) == 0 {
		return nil, false, nil
	}
	return []byte(rows[0].Payload), true, nil
}
