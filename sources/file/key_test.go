package file

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tajo/tajo/schemas"
)

// envelope is a line as tajo writes it for a full REST customer: about
// 5 KB, the body twice (data and raw), each holding a nested "shop" that
// is not the key.
func envelope(i int) []byte {
	var addrs []string
	for a := 0; a < 6; a++ {
		addrs = append(addrs, fmt.Sprintf(`{"id":%d,"customer_id":%d,"first_name":"Zoë","last_name":"Ünïcode \"quoted\"","company":null,"address1":"%d Rue de l’Église","address2":"Bât. B\\n3e étage","city":"Saint-Étienne","province":"Loire","country":"France","zip":"42000","phone":"+33 4 77 00 00 %02d","name":"Zoë Ünïcode","province_code":null,"country_code":"FR","country_name":"France","default":%t,"shop":"nested.myshopify.com"}`, 1000+a, 9007199254740993+int64(i), a, a, a == 0))
	}
	body := fmt.Sprintf(`{"id":%d,"email":"zoe.%d@example.com","created_at":"2026-11-27T12:00:00+01:00","updated_at":"2026-11-27T12:00:00+01:00","first_name":"Zoë 👋","last_name":"Ünïcode","orders_count":3,"state":"enabled","total_spent":"1234.56","last_order_id":450789469,"note":"tab\there, \u00e9 and a \\ backslash","verified_email":true,"multipass_identifier":null,"tax_exempt":false,"tags":"vip, newsletter, 🎁","last_order_name":"#1001","currency":"EUR","phone":"+33477000000","addresses":[%s],"email_marketing_consent":{"state":"subscribed","opt_in_level":"single_opt_in","consent_updated_at":"2026-11-27T12:00:00+01:00"},"sms_marketing_consent":null,"admin_graphql_api_id":"gid://shopify/Customer/%d","meta":{"shop":"deeper.myshopify.com","n":[1,-2.5e3,0.0,{"shop":7}]}}`,
		9007199254740993+int64(i), i, strings.Join(addrs, ","), 9007199254740993+int64(i))
	ev := schemas.Event{
		Schema: schemas.EventSchema, ID: schemas.NewID("bench", fmt.Sprint(i)), Source: "shopify.webhook",
		Shop: []string{"alpha.myshopify.com", "bêta-store.myshopify.com"}[i%2], Topic: "customers/update", Type: "customer_updated",
		OccurredAt: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), ReceivedAt: time.Date(2026, 11, 27, 12, 0, 1, 0, time.UTC),
		APIVersion: "2026-07", Entity: schemas.Entity{Kind: "customer", ID: fmt.Sprint(9007199254740993 + int64(i))},
		Data: json.RawMessage(body), Raw: json.RawMessage(body),
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// The key is the top-level shop only, whatever is nested, escaped or
// repeated, and the scanner answers the lines tajo writes itself.
func TestShopKey(t *testing.T) {
	for _, c := range []struct {
		name, line string
		want       []byte // nil: no key (spread over the partitions)
		fast       bool   // the scanner answers without the full decode
	}{
		{"envelope", string(envelope(1)), []byte("bêta-store.myshopify.com"), true},
		{"nested before the top-level one", `{"data":{"shop":"inner"},"raw":[{"shop":"x"}],"shop":"outer"}`, []byte("outer"), true},
		{"nested only", `{"data":{"shop":"inner"},"raw":"{\"shop\":\"x\"}"}`, []byte{}, true},
		{"escaped value", `{"shop":"a\u002eb\"c\\d"}`, []byte(`a.b"c\d`), true},
		{"invalid UTF-8 value", "{\"shop\":\"a\xffb\"}", []byte("a\ufffdb"), true},
		{"case-insensitive", `{"SHOP":"up"}`, []byte("up"), true},
		{"the first one is the key", `{"shop":"a","x":1,"shop":"b"}`, []byte("a"), true},
		{"null keeps the earlier", `{"shop":"a","shop":null}`, []byte("a"), true},
		{"null then a value", `{"shop":null,"shop":"b"}`, []byte("b"), true},
		{"not a string", `{"shop":1,"data":{}}`, nil, true},
		{"escaped key", `{"sh\u006fp":"esc"}`, []byte("esc"), false},
		{"Unicode fold of the key", `{"ſhop":"fold"}`, []byte("fold"), false},
		{"invalid after the key is not read", `{"shop":"a","data":{"b":01}}`, []byte("a"), true},
		{"trailing garbage is not read", `{"shop":"a"} x`, []byte("a"), true},
		{"invalid before the key", `{"data":{"b":01},"shop":"a"}`, nil, false},
		{"not JSON", `not json`, nil, false},
		{"not an object", `["shop"]`, nil, false},
		{"null line", `null`, []byte{}, false},
		{"empty object", ` { } `, []byte{}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := readKey(t, c.line)
			if !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
				t.Fatalf("key = %q (nil %t), want %q (nil %t)", got, got == nil, c.want, c.want == nil)
			}
			if want := decodeShop([]byte(c.line)); oneTopLevelShop([]byte(c.line)) && (!bytes.Equal(got, want) || (got == nil) != (want == nil)) {
				t.Fatalf("key = %q, encoding/json says %q", got, want)
			}
			if _, ok := scanShop([]byte(c.line)); ok != c.fast {
				t.Fatalf("scanner sure = %t, want %t", ok, c.fast)
			}
		})
	}
}

// readKey is the key the file source gives the one line of a file.
func readKey(t *testing.T, line string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Path: path, MaxLineBytes: 1 << 20}, nil, "f")
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	recs, err := s.Read(context.Background(), 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("read %d records, %v", len(recs), err)
	}
	return recs[0].Key
}

// The key agrees with encoding/json on every valid object with one
// top-level shop: same bytes, and nil exactly when the full decode fails;
// and shopKey never panics on any input.
func FuzzShopKey(f *testing.F) {
	for _, s := range []string{
		`{"shop":"a.myshopify.com","n":1}`, `{"data":{"shop":"x"},"shop":"y"}`, `{"shop":"a\u00e9\ud83d\ude00"}`,
		`{"shop":"\ud800"}`, `{"Shop":"b","shop":null}`, `{"shop":[1,{"a":true}]}`, `{"a":[1,2,[3,{"b":-0.5e+7}]],"shop":""}`,
		`{"a":01}`, `{"a":1.}`, `{"a":-}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\t\"}", `{"a":tru}`, `{"a":1,}`,
		`{"a" : { } , "b" : [ ] }`, `null`, `[]`, `"shop"`, `{"ſhop":"k"}`, `{"sh\u006Fp":"k"}`, "{\"shop\":\"\xff\"}",
		string(envelope(0)),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := shopKey(b), decodeShop(b)
		if !oneTopLevelShop(b) {
			return
		}
		if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
			t.Fatalf("shopKey(%q) = %q (nil %t); encoding/json: %q (nil %t)", b, got, got == nil, want, want == nil)
		}
	})
}

// BenchmarkShopKey compares the scanner with the full decode it replaces
// on a 5 KB envelope, in the same run.
func BenchmarkShopKey(b *testing.B) {
	line := envelope(1)
	for _, c := range []struct {
		name string
		fn   func([]byte) []byte
	}{{"scan", shopKey}, {"encoding-json", decodeShop}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if len(c.fn(line)) == 0 {
					b.Fatal("no key")
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkRead is the whole source, one line per op: a file of 5 KB
// envelopes, as a file → file run reads it.
func BenchmarkRead(b *testing.B) {
	const lines = 2000
	var buf bytes.Buffer
	for i := range lines {
		buf.Write(envelope(i))
		buf.WriteByte('\n')
	}
	path := filepath.Join(b.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len() / lines))
	b.ReportAllocs()
	ctx := context.Background()
	var s *Source
	n := lines
	cpu := processCPU()
	for b.Loop() {
		if n == lines {
			b.StopTimer()
			if s != nil {
				s.Close(ctx)
			}
			s = New(Config{Path: path, MaxLineBytes: 1 << 20}, nil, "f")
			if err := s.Open(ctx); err != nil {
				b.Fatal(err)
			}
			n = 0
			b.StartTimer()
		}
		recs, err := s.Read(ctx, 1)
		if err != nil || len(recs[0].Key) == 0 {
			b.Fatal(err)
		}
		n++
	}
	reportCPU(b, cpu)
	s.Close(ctx)
}

// processCPU is the process's CPU time (every thread, the collector
// included): on a shared machine wall time depends on the neighbours.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration) {
	b.ReportMetric(float64(processCPU()-since)/float64(b.N), "cpu-ns/op")
}

// oneTopLevelShop reports whether b is valid JSON and, when an object, has
// at most one top-level key encoding/json would decode into Shop
// (case-insensitive, after unescaping): where shopKey promises to agree
// with it.
func oneTopLevelShop(b []byte) bool {
	if !json.Valid(b) {
		return false
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(b, &top) != nil {
		return true // not an object: both give nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.Token() // {
	n := 0
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return false
		}
		if strings.EqualFold(k.(string), "shop") {
			n++
		}
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return false
		}
	}
	return n <= 1
}
