package clickhouse

import (
	"strings"
	"testing"
)

// Stored strings come from unauthenticated requests: a table shows their
// control characters, bidi overrides and broken UTF-8 as escapes, never raw.
func TestTableEscapesControlCharacters(t *testing.T) {
	shop := "evil\x1b[2J\x1b]0;owned\x07.myshopify.com\r\u202egnp.exe\u200b\u0085\x85\xff\\"
	r := &Result{Columns: []string{"shop\x1b[31m"}, Rows: [][]any{{shop}}}
	var b strings.Builder
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, c := range out {
		if c != '\n' && (c < 0x20 || c == 0x7f || c >= 0x80 && c < 0xa0 || c == '\u202e' || c == '\u200b' || c == '\ufffd') {
			t.Fatalf("raw %U in the table:\n%q", c, out)
		}
	}
	want := `evil\x1b[2J\x1b]0;owned\x07.myshopify.com\r\u202egnp.exe\u200b\u0085\x85\xff\\`
	if !strings.Contains(out, want) || !strings.Contains(out, `shop\x1b[31m`) {
		t.Fatalf("table:\n%s\nwant the cell %s", out, want)
	}
}
