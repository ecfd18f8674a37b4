package clickhouse

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ClickHouse's TabSeparated format carries strings byte for byte (only
// backslash, tab, newline, carriage return and NUL are escaped), so it is
// how rows travel to and from chDB without loss: JSON would replace invalid
// UTF-8 and round 64-bit integers in some readers.

const dateTimeLayout = "2006-01-02 15:04:05"

func appendTSV(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendEscaped(b, x), nil
	case []byte:
		return appendEscaped(b, string(x)), nil
	case time.Time:
		// Columns are DateTime('UTC'), which parses text as UTC.
		return x.UTC().AppendFormat(b, dateTimeLayout), nil
	case decimal.Decimal:
		return append(b, x.String()...), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case bool:
		if x {
			return append(b, '1'), nil
		}
		return append(b, '0'), nil
	}
	return b, fmt.Errorf("no TabSeparated encoding for %T", v)
}

func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case 0:
			b = append(b, '\\', '0')
		default:
			b = append(b, c)
		}
	}
	return b
}

func unescape(s []byte) string {
	if bytes.IndexByte(s, '\\') < 0 {
		return string(s)
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			out = append(out, c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case '0':
			out = append(out, 0)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'a':
			out = append(out, '\a')
		case 'v':
			out = append(out, '\v')
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

func parseTSVWithNamesAndTypes(out []byte) (*Result, error) {
	res := &Result{}
	lines := bytes.Split(out, []byte{'\n'})
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	if len(lines) == 0 {
		return res, nil
	}
	if len(lines) < 2 {
		return nil, fmt.Errorf("chDB answered without a types line: %q", truncate(string(out), 200))
	}
	for _, f := range bytes.Split(lines[0], []byte{'\t'}) {
		res.Columns = append(res.Columns, unescape(f))
	}
	for _, f := range bytes.Split(lines[1], []byte{'\t'}) {
		res.Types = append(res.Types, unescape(f))
	}
	if len(res.Types) != len(res.Columns) {
		return nil, fmt.Errorf("chDB answered %d names and %d types", len(res.Columns), len(res.Types))
	}
	for _, line := range lines[2:] {
		fields := bytes.Split(line, []byte{'\t'})
		if len(fields) != len(res.Columns) {
			return nil, fmt.Errorf("chDB answered a row of %d fields for %d columns", len(fields), len(res.Columns))
		}
		row := make([]any, len(fields))
		for i, f := range fields {
			v, err := parseValue(res.Types[i], f)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", res.Columns[i], err)
			}
			row[i] = v
		}
		res.Rows = append(res.Rows, row)
	}
	return res, nil
}

// parseValue reads one text value of a ClickHouse type into Result's types.
func parseValue(typ string, f []byte) (any, error) {
	if inner, ok := unwrapType(typ, "Nullable"); ok {
		if string(f) == `\N` {
			return nil, nil
		}
		typ = inner
	}
	if inner, ok := unwrapType(typ, "LowCardinality"); ok {
		typ = inner
	}
	s := string(f)
	switch {
	case strings.HasPrefix(typ, "UInt"):
		return strconv.ParseUint(s, 10, 64)
	case strings.HasPrefix(typ, "Int"):
		return strconv.ParseInt(s, 10, 64)
	case strings.HasPrefix(typ, "Float"):
		switch s {
		case "inf", "+inf":
			s = "+Inf"
		case "-inf":
			s = "-Inf"
		case "nan", "-nan":
			s = "NaN"
		}
		return strconv.ParseFloat(s, 64)
	case strings.HasPrefix(typ, "Decimal"):
		return decimal.NewFromString(s)
	case typ == "Bool":
		return s == "true", nil
	case strings.HasPrefix(typ, "DateTime"), typ == "Date", typ == "Date32":
		return parseTime(typ, s)
	}
	return unescape(f), nil
}

func parseTime(typ, s string) (time.Time, error) {
	loc := time.Local // chDB formats a DateTime without a zone in the process's zone
	if i := strings.IndexByte(typ, '\''); i >= 0 {
		if j := strings.LastIndexByte(typ, '\''); j > i {
			if l, err := time.LoadLocation(typ[i+1 : j]); err == nil {
				loc = l
			}
		}
	}
	layout := dateTimeLayout
	if len(s) == len("2006-01-02") {
		layout = "2006-01-02"
	} else if len(s) > len(dateTimeLayout) {
		layout = "2006-01-02 15:04:05.999999999"
	}
	t, err := time.ParseInLocation(layout, s, loc)
	return t.UTC(), err
}

func unwrapType(typ, wrapper string) (string, bool) {
	if strings.HasPrefix(typ, wrapper+"(") && strings.HasSuffix(typ, ")") {
		return typ[len(wrapper)+1 : len(typ)-1], true
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
