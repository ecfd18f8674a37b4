package clickhouse

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/schemas"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"defaults", func(c *Config) {}, nil},
		{"server", func(c *Config) { c.DSN = "clickhouse://u:p@db:9000/tajo"; c.TLS = TLS{Enabled: true, CAFile: "ca.pem"} }, nil},
		{"absolute chdb", func(c *Config) { c.DSN = "chdb:///var/lib/tajo/ch" }, nil},
		{"no scheme", func(c *Config) { c.DSN = "localhost:9000" }, []string{`sinks.clickhouse.dsn: not a DSN (no scheme://`}},
		{"http", func(c *Config) { c.DSN = "http://localhost:8123" }, []string{"sinks.clickhouse.dsn: the HTTP interface is not supported"}},
		{"empty chdb", func(c *Config) { c.DSN = "chdb://" }, []string{"sinks.clickhouse.dsn: chdb:// needs a directory"}},
		{"bad numbers", func(c *Config) { c.BatchRows, c.FlushInterval, c.RetentionDays, c.Timeout = 0, 0, -1, 0 }, []string{
			"sinks.clickhouse.batch_rows: must be between 1 and 1000000, got 0",
			"sinks.clickhouse.flush_interval: must be a positive duration",
			"sinks.clickhouse.timeout: must be a positive duration",
			"sinks.clickhouse.retention_days: must not be negative",
		}},
		{"tls on chdb", func(c *Config) { c.TLS.Enabled = true }, []string{"sinks.clickhouse.tls: applies to a ClickHouse server only"}},
		{"half a key pair", func(c *Config) { c.DSN = "clickhouse://h:9000"; c.TLS = TLS{Enabled: true, CertFile: "c.pem"} }, []string{"sinks.clickhouse.tls: cert_file and key_file go together"}},
		{"tls not enabled", func(c *Config) { c.DSN = "clickhouse://h:9000"; c.TLS.CAFile = "ca.pem" }, []string{"sinks.clickhouse.tls.enabled: tls options are set but tls is not enabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(c)
			var p config.Problems
			c.Validate(&p, "sinks.clickhouse")
			var got []string
			for _, pr := range p.List() {
				got = append(got, pr.String())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d: %q, want prefix %q", i, got[i], w)
				}
			}
		})
	}
}

func TestConfigFromYAML(t *testing.T) {
	cfg, err := config.Parse([]byte(`
sinks:
  clickhouse:
    dsn: chdb://history
    batch_rows: 500
    flush_interval: 250ms
    retention_days: 30
    bogus: 1
`), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "sinks.clickhouse.bogus: unknown key") {
		t.Fatalf("want the unknown key reported with its path, got %v", err)
	}
	c := cfg.Components["sinks"][SinkName].Spec.(*Config)
	if c.DSN != "chdb://history" || c.BatchRows != 500 || c.FlushInterval != 250*time.Millisecond || c.RetentionDays != 30 || c.Timeout != 30*time.Second {
		t.Fatalf("decoded %+v", c)
	}
}

func TestChdbDir(t *testing.T) {
	for dsn, want := range map[string]string{
		"chdb://clickhouse":   "/data/clickhouse",
		"chdb://a/b":          "/data/a/b",
		"chdb:///srv/history": "/srv/history",
	} {
		_, dir, err := parseDSN(dsn)
		if err != nil || chdbDir(dir, "/data") != want {
			t.Errorf("%s: %q, %v; want %s", dsn, chdbDir(dir, "/data"), err, want)
		}
	}
	for _, dsn := range []string{
		"clickhouse://u:secret@h:9000/db",
		"clickhouse://u:se%cret@h:9000/db", // does not parse
		"clickhouse://u:se@cr%et@h:9000/db",
		"clickhouse://h:9000/db?username=u&password=secret",
		"clickhouse://h:9000/db?username=u&password=se%cret",
	} {
		if got := redact(dsn); strings.Contains(got, "cret") || !strings.Contains(got, config.Masked) {
			t.Errorf("redact(%q) = %s", dsn, got)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err   error
		class pipeline.Class
		code  string
	}{
		{&ch.Exception{Code: 516, Message: "auth"}, pipeline.Fatal, "clickhouse_authentication_failed"},
		{&ch.Exception{Code: 60, Message: "no table"}, pipeline.Fatal, "clickhouse_unknown_table"},
		{&ch.Exception{Code: 241, Message: "memory limit"}, pipeline.Retryable, "clickhouse_241"},
		{newChdbError("Code: 62. DB::Exception: Syntax error"), pipeline.Fatal, "clickhouse_syntax_error"},
		{newChdbError("Code: 252. DB::Exception: Too many parts"), pipeline.Retryable, "clickhouse_252"},
		{fmt.Errorf("dial: %w", syscall.ECONNREFUSED), pipeline.Retryable, "unavailable"},
		{io.EOF, pipeline.Retryable, "unavailable"},
		{fmt.Errorf("x: %w", ErrNoLibrary), pipeline.Fatal, ""},
		{&lockedError{dir: "/d"}, pipeline.Fatal, ""},
		{errors.New("something odd"), pipeline.Retryable, ""},
	} {
		got := classify(tc.err)
		if pipeline.ClassOf(got) != tc.class || pipeline.CodeOf(got) != tc.code {
			t.Errorf("classify(%v) = %s/%q, want %s/%q", tc.err, pipeline.ClassOf(got), pipeline.CodeOf(got), tc.class, tc.code)
		}
	}
	if !errors.Is(classify(&lockedError{dir: "/d"}), ErrLocked) {
		t.Error("a locked directory must stay recognizable as ErrLocked")
	}
}

func TestTSV(t *testing.T) {
	for _, s := range append(nasty, "\\N", "a\\tb", strings.Repeat("\\", 5), "\xff\xfe") {
		enc := appendEscaped(nil, s)
		if bytes.ContainsAny(enc, "\t\n\r\x00") {
			t.Errorf("%q encodes with a raw separator: %q", s, enc)
		}
		if got := unescape(enc); got != s {
			t.Errorf("round trip %q: got %q", s, got)
		}
	}
	out := []byte("n\tts\td\ts\tx\n" +
		"Nullable(UInt64)\tDateTime('UTC')\tDecimal(18, 4)\tString\tFloat64\n" +
		"\\N\t2026-11-20 10:30:00\t12.34\ta\\tb\\\\\tinf\n" +
		"18446744073709551615\t1970-01-01 00:00:00\t-0.0001\t\tnan\n")
	res, err := parseTSVWithNamesAndTypes(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows[0][0] != nil || res.Rows[1][0] != uint64(18446744073709551615) || res.Rows[0][1] != t0 ||
		!res.Rows[0][2].(decimal.Decimal).Equal(decimal.RequireFromString("12.34")) || res.Rows[0][3] != "a\tb\\" {
		t.Fatalf("parsed %#v", res.Rows)
	}
	if _, err := parseTSVWithNamesAndTypes([]byte("a\tb\nString\n")); err == nil {
		t.Error("names and types of different lengths must fail")
	}
}

func fixtureEvent(t *testing.T, file, typ, kind string, into any) *schemas.Event {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	data, err := json.Marshal(into)
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvent("fixture.myshopify.com", typ, kind, "820982911946154508", t0, string(data))
	ev.Raw = b
	return ev
}

func TestEventRows(t *testing.T) {
	now := t0.Add(3 * time.Second)
	order := fixtureEvent(t, "orders-create.json", schemas.TypeOrderPlaced, schemas.KindOrder, &schemas.Order{})
	o, c, err := eventRows(order, now)
	if err != nil {
		t.Fatal(err)
	}
	wantO := Outcome{Time: t0, SyncedAt: now, Shop: order.Shop, EventID: order.ID, EventType: "order_placed", EntityKind: "order",
		EntityID: "820982911946154508", Sink: SinkName, Result: OutcomeDelivered, Attempt: 1, Latency: 3 * time.Second}
	if !reflect.DeepEqual(o, wantO) {
		t.Errorf("outcome:\n got %+v\nwant %+v", o, wantO)
	}
	if c == nil || c.Currency != "USD" || c.CustomerID != "115310627314723954" || c.Email != "jon@example.com" ||
		!c.TotalPrice.Equal(decimal.RequireFromString("404.95")) || !c.TotalDiscounts.Equal(decimal.RequireFromString("20")) ||
		c.LineItems != 5 || c.Quantity != 5 {
		t.Errorf("order commerce row: %+v", c)
	}

	co := fixtureEvent(t, "checkouts-create.json", schemas.TypeCheckoutCreated, schemas.KindCheckout, &schemas.Checkout{})
	if _, c, err := eventRows(co, now); err != nil || c == nil || c.EntityKind != "checkout" {
		t.Errorf("checkout: %+v %v", c, err)
	}
	cart := fixtureEvent(t, "carts-create.json", schemas.TypeCartCreated, schemas.KindCart, &schemas.Cart{})
	if _, c, err := eventRows(cart, now); err != nil || c == nil || c.LineItems == 0 {
		t.Errorf("cart: %+v %v", c, err)
	}
	cust := newEvent("s", schemas.TypeCustomerCreated, schemas.KindCustomer, "1", t0, `{"total_price":"5"}`)
	if _, c, err := eventRows(cust, now); err != nil || c != nil {
		t.Errorf("a customer event has no commerce row: %+v %v", c, err)
	}
	huge := newEvent("s", schemas.TypeOrderPlaced, schemas.KindOrder, "1", t0, `{"total_price":"100000000000000"}`)
	if _, _, err := eventRows(huge, now); err == nil {
		t.Error("an amount beyond Decimal(18, 4) must be rejected, not sent to fail the whole insert")
	}
}

func TestWriteBeforeOpen(t *testing.T) {
	// A Write on an unopened sink stops the pipeline instead of dropping
	// records.
	s := NewSink(DefaultConfig(), pipeline.Env{})
	err := s.Write(t.Context(), []*pipeline.Record{{Value: []byte("{}")}})
	if pipeline.ClassOf(err) != pipeline.Fatal {
		t.Fatalf("write before open: %v", err)
	}
}

func TestFormat(t *testing.T) {
	r := &Result{
		Columns: []string{"ts", "id", "amount", "text", "none"},
		Rows: [][]any{
			{t0, uint64(18446744073709551615), decimal.RequireFromString("12.3400"), "tab\tand " + strings.Repeat("long ", 40), nil},
		},
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	want := `[
  {"ts": "2026-11-20T10:30:00Z", "id": 18446744073709551615, "amount": "12.34", "text": "tab\tand ` + strings.Repeat("long ", 40) + `", "none": null}
]
`
	if js.String() != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", js.String(), want)
	}
	var tb bytes.Buffer
	if err := WriteTable(&tb, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(tb.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], `tab\tand`) || !strings.Contains(lines[1], "…") || lines[2] != "(1 rows)" {
		t.Errorf("table:\n%s", tb.String())
	}
	var st bytes.Buffer
	last := t0
	if err := WriteStatusJSON(&st, Status{Connected: Connected, Backend: "chdb", Figures: Figures{LastSync: &last, CustomersCount: 15420}}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(st.Bytes(), &m); err != nil || m["lastSync"] != "2026-11-20T10:30:00Z" || m["customersCount"] != 15420.0 || m["connected"] != true {
		t.Errorf("status JSON: %s", st.String())
	}
}

func TestMalformedRowsStop(t *testing.T) {
	ok := Outcome{Time: t0, EventID: "e", Sink: "brevo"}
	for name, o := range map[string]Outcome{
		"no time":     {EventID: "e", Sink: "brevo"},
		"no event id": {Time: t0, Sink: "brevo"},
		"bad result":  {Time: t0, EventID: "e", Sink: "brevo", Result: "maybe"},
		"year 1900":   {Time: time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), EventID: "e", Sink: "brevo"},
	} {
		if _, err := outcomeRows([]Outcome{ok, o}, t0); pipeline.ClassOf(err) != pipeline.Fatal {
			t.Errorf("%s: %v, want a fatal error", name, err)
		}
	}
	if rows, err := outcomeRows([]Outcome{ok}, t0); err != nil || rows[0][8] != OutcomeDelivered || rows[0][1] != t0 {
		t.Errorf("defaults: %v %v", rows, err)
	}
	if _, err := (WebhookLogRow{HMAC: "ok"}).row(t0); err == nil {
		t.Error("an unknown HMAC verdict must be refused before the insert")
	}
}

func TestChunkEnd(t *testing.T) {
	small := []any{"x"}
	big := []any{strings.Repeat("p", maxInsertBytes/2)}
	rows := [][]any{small, small, small, small, small}
	if got := chunkEnd(rows, 0, 2); got != 2 {
		t.Errorf("by rows: %d", got)
	}
	if got := chunkEnd(rows, 4, 2); got != 5 {
		t.Errorf("tail: %d", got)
	}
	rows = [][]any{big, big, big, small}
	if got := chunkEnd(rows, 0, 100); got != 2 {
		t.Errorf("by bytes: %d, want 2 (the chunk closes once it reaches the cap)", got)
	}
	if got := chunkEnd([][]any{{strings.Repeat("p", 2*maxInsertBytes)}, small}, 0, 100); got != 1 {
		t.Errorf("an oversized row still goes alone: %d", got)
	}
}

func TestLibraryPathFindsTheCache(t *testing.T) {
	dir := t.TempDir()
	lib := dir + "/.cache/chdb/26.5.3/libchdb.so"
	if err := os.MkdirAll(dir+"/.cache/chdb/26.5.3", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lib, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CHDB_LIB_PATH", "")
	t.Chdir(dir)
	if got := LibraryPath(); got != lib {
		t.Errorf("LibraryPath() = %q, want the cached %q", got, lib)
	}
	t.Setenv("CHDB_LIB_PATH", "/explicit/libchdb.so")
	if got := LibraryPath(); got != "/explicit/libchdb.so" {
		t.Errorf("CHDB_LIB_PATH must win: %q", got)
	}
}
