package schemas

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

func TestIDDecode(t *testing.T) {
	for in, want := range map[string]ID{
		`706405506930370084`:                          706405506930370084,
		`9223372036854775807`:                         9223372036854775807,
		`"706405506930370084"`:                        706405506930370084,
		`"gid://shopify/Customer/706405506930370084"`: 706405506930370084,
		`"gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596884015"`: 24826418,
		`null`: 0,
		`""`:   0,
		`0`:    0,
	} {
		var id ID
		if err := json.Unmarshal([]byte(in), &id); err != nil || id != want {
			t.Errorf("%s: got %d, %v; want %d", in, id, err, want)
		}
	}
	for _, in := range []string{
		`9223372036854775808`, `99999999999999999999999`, `-1`, `1.5`, `1e3`, `1.0`,
		`"12a"`, `"gid://shopify/Customer/"`, `"gid://other/Customer/1"`, `"gid://shopify/Customer/x"`,
		`true`, `{}`, `[]`, `" 1"`, `"+1"`,
	} {
		var id ID
		if err := json.Unmarshal([]byte(in), &id); err == nil {
			t.Errorf("%s: decoded to %d, want an error", in, id)
		}
	}
	b, _ := json.Marshal(struct{ ID ID }{706405506930370084})
	if string(b) != `{"ID":706405506930370084}` {
		t.Errorf("marshal: %s", b)
	}
}

func TestCountDecode(t *testing.T) {
	var c struct{ A, B, C Count }
	if err := json.Unmarshal([]byte(`{"A":5,"B":"12","C":null}`), &c); err != nil || c.A != 5 || c.B != 12 || c.C != 0 {
		t.Fatalf("%+v %v", c, err)
	}
	if err := json.Unmarshal([]byte(`{"A":2.5}`), &c); err == nil {
		t.Fatal("fraction accepted")
	}
}

func TestMoney(t *testing.T) {
	for in, want := range map[string]string{
		`"199.99"`: "199.99", `199.99`: "199.99", `"0.00"`: "0", `89.99`: "89.99",
		`"-5.10"`: "-5.1", `"1e3"`: "1000", `null`: "0", `""`: "0",
		`"123456789012345678901234567890.12"`: "123456789012345678901234567890.12",
	} {
		var m Money
		if err := json.Unmarshal([]byte(in), &m); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !m.Equal(decimal.RequireFromString(want)) {
			t.Errorf("%s = %s, want %s", in, m, want)
		}
	}
	for _, in := range []string{
		`"1e999999999"`, `1e31`, `"1e-31"`, `"NaN"`, `"Infinity"`, `"+1"`, `"1,5"`, `".5"`, `"5."`,
		`"−1"`, `"0x10"`, `true`, `{}`, `["1"]`, `" 1"`,
		`"` + strings.Repeat("9", 41) + `"`,
	} {
		var m Money
		if err := json.Unmarshal([]byte(in), &m); err == nil {
			t.Errorf("%s: decoded to %s, want an error", in, m)
		}
	}

	// Always a string, even if some package flips the global switch.
	decimal.MarshalJSONWithoutQuotes = true
	defer func() { decimal.MarshalJSONWithoutQuotes = false }()
	b, _ := json.Marshal(MustMoney("404.95"))
	if string(b) != `"404.95"` {
		t.Errorf("marshal: %s", b)
	}
	// Exact: 0.1 + 0.2 is 0.3, which float64 cannot say.
	if s := MustMoney("0.1").Add(MustMoney("0.2").Decimal); !s.Equal(MustMoney("0.3").Decimal) {
		t.Errorf("0.1+0.2 = %s", s)
	}
}

func TestTags(t *testing.T) {
	for in, want := range map[string]string{
		`"tag1, tag2"`:     "tag1|tag2",
		`"tag1,tag2"`:      "tag1|tag2",
		`" a ,, b ,"`:      "a|b",
		`["vip", " b2b "]`: "vip|b2b",
		`""`:               "",
		`"émoji 🎉, 中文"`:    "émoji 🎉|中文",
	} {
		var tg Tags
		if err := json.Unmarshal([]byte(in), &tg); err != nil || strings.Join(tg, "|") != want {
			t.Errorf("%s: %q %v", in, tg, err)
		}
	}
	for _, in := range []string{`5`, `{}`, `[1]`, `true`} {
		var tg Tags
		if err := json.Unmarshal([]byte(in), &tg); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

func TestAttrsAndText(t *testing.T) {
	var o Order
	if err := json.Unmarshal([]byte(`{"note_attributes":[{"name":"cart","value":123456789012345678901}],
		"line_items":[{"properties":{"b":"2","a":true}}]}`), &o); err != nil {
		t.Fatal(err)
	}
	if o.NoteAttributes[0].Value != "123456789012345678901" {
		t.Errorf("note attribute value = %q", o.NoteAttributes[0].Value)
	}
	p := o.LineItems[0].Properties
	if len(p) != 2 || p[0].Name != "a" || p[0].Value != "true" || p[1].Name != "b" {
		t.Errorf("properties = %+v", p)
	}
	if err := json.Unmarshal([]byte(`{"note_attributes":"x"}`), &o); err == nil {
		t.Error("string attributes accepted")
	}
	var tx Text
	if err := json.Unmarshal([]byte(`{"a": [1, 2]}`), &tx); err != nil || tx != `{"a":[1,2]}` {
		t.Errorf("object as text: %q %v", tx, err)
	}
}

func TestEmailMarketingState(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		c    Customer
		want string
	}{
		{Customer{}, ""},
		{Customer{AcceptsMarketing: &yes}, ConsentSubscribed},
		{Customer{AcceptsMarketing: &no}, ConsentNotSubscribed},
		{Customer{AcceptsMarketing: &yes, EmailMarketingConsent: &EmailMarketingConsent{State: ConsentUnsubscribed}}, ConsentUnsubscribed},
	} {
		if got := c.c.EmailMarketingState(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.c, got, c.want)
		}
	}
}

func TestParseGID(t *testing.T) {
	if id, err := ParseGID("gid://shopify/Order/820982911946154508"); err != nil || id != 820982911946154508 {
		t.Fatal(id, err)
	}
	if _, err := ParseGID("gid://shopify/Order"); err == nil {
		t.Fatal("no id accepted")
	}
}

// FuzzPlainDigitsAgreesWithParseID holds the allocation-free path of ID
// and Count decoding to parseID.
func FuzzPlainDigitsAgreesWithParseID(f *testing.F) {
	for _, s := range []string{"0", "007", "706405506930370084", "999999999999999999", "9223372036854775807", "1a", "", "-1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := plainDigits(b)
		if !ok {
			return
		}
		want, err := parseID(string(b))
		if err != nil || int64(want) != n {
			t.Fatalf("%q: plainDigits %d, parseID %d, %v", b, n, want, err)
		}
	})
}
