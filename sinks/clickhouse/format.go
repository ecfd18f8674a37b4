package clickhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// maxCell keeps one long value (a payload) from making a table unreadable.
const maxCell = 80

// WriteTable prints r as aligned columns for people.
func WriteTable(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := make([]string, len(r.Columns))
	for i, c := range r.Columns {
		head[i] = cellText(c)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, row := range r.Rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = cellText(v)
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d rows)\n", len(r.Rows))
	return err
}

func cellText(v any) string {
	s := []rune(escapeControl(textOf(v)))
	if len(s) > maxCell {
		return string(s[:maxCell-1]) + "…"
	}
	return string(s)
}

// escapeControl makes a stored string safe to print on a terminal: shop
// names and reasons come from unauthenticated requests and from other
// services, and a raw ESC, carriage return or bidirectional override in
// them would rewrite what the operator sees. Control characters (C0, DEL,
// C1), Unicode format characters (bidi overrides, zero-width ones) and
// bytes that are not UTF-8 are written as Go escapes; a backslash is
// doubled so that an escape is never ambiguous.
func escapeControl(s string) string {
	clean := true
	for _, r := range s {
		if r == '\\' || r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i-1])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x80 && unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case decimal.Decimal:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// WriteJSON prints r for scripts: a JSON array with one object per row,
// keys in column order. 64-bit integers are written as exact JSON numbers,
// decimals as strings (never a float), times as RFC 3339 in UTC.
func WriteJSON(w io.Writer, r *Result) error {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, row := range r.Rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n  {")
		for j, v := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(r.Columns[j])
			b.Write(k)
			b.WriteString(": ")
			val, err := jsonValue(v)
			if err != nil {
				return fmt.Errorf("column %s: %w", r.Columns[j], err)
			}
			b.Write(val)
		}
		b.WriteByte('}')
	}
	if len(r.Rows) > 0 {
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	_, err := w.Write(b.Bytes())
	return err
}

func jsonValue(v any) ([]byte, error) {
	switch x := v.(type) {
	case time.Time:
		return json.Marshal(x.UTC().Format(time.RFC3339))
	case decimal.Decimal:
		return json.Marshal(x.String())
	case float64:
		if x != x || x > 1.7976931348623157e308 || x < -1.7976931348623157e308 {
			return json.Marshal(textOf(x)) // JSON has no NaN or Inf
		}
	}
	return json.Marshal(v)
}

// WriteStatusTable prints a Status for people: what each figure counts is
// said beside it (README, `tajo connectors status`).
func WriteStatusTable(w io.Writer, s Status) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	conn := string(s.Connected)
	if s.Reason != "" {
		conn += " (" + s.Reason + ")"
	}
	fmt.Fprintf(tw, "connected\t%s\n", cellText(conn))
	for i, c := range s.Checks {
		label := ""
		if i == 0 {
			label = "checks"
		}
		mark := "✗"
		if c.OK {
			mark = "✓"
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\n", label, mark, cellText(checkName(c.Service, c.Shop)), c.Time.Format(time.RFC3339), cellText(c.Detail))
	}
	fmt.Fprintf(tw, "backend\t%s\n", s.Backend)
	writeFigures(tw, s.Figures)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Shops) < 2 {
		return nil
	}
	fmt.Fprintln(w, "\nby shop:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "shop\tcustomers\torders\tproducts\tevents\terror rate\tdelivered\tskipped\trejected\tfailed\tlast sync")
	for _, f := range s.Shops {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%s\n", cellText(f.Shop), f.CustomersCount, f.OrdersCount, f.ProductsCount,
			f.Events, percent(f.ErrorRate), f.Delivered, f.Skipped, f.Rejected, f.Failed, lastSync(f.LastSync))
	}
	return tw.Flush()
}

func writeFigures(tw io.Writer, f Figures) {
	fmt.Fprintf(tw, "last sync\t%s\n", lastSync(f.LastSync))
	fmt.Fprintf(tw, "customers\t%d\n", f.CustomersCount)
	fmt.Fprintf(tw, "orders\t%d\n", f.OrdersCount)
	fmt.Fprintf(tw, "products\t%d\n", f.ProductsCount)
	fmt.Fprintf(tw, "events\t%d\n", f.Events)
	fmt.Fprintf(tw, "steps\t%d delivered, %d skipped, %d rejected, %d failed\n", f.Delivered, f.Skipped, f.Rejected, f.Failed)
	fmt.Fprintf(tw, "error rate\t%s (%d of %d events rejected or failed somewhere)\n", percent(f.ErrorRate), f.Failures, f.Events)
}

func percent(r float64) string { return strconv.FormatFloat(100*r, 'f', 2, 64) + "%" }

func lastSync(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteStatusJSON prints a Status as the seed's JSON.
func WriteStatusJSON(w io.Writer, s Status) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
