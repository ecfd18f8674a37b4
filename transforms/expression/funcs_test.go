package expression

import (
	"strings"
	"testing"
	"time"
)

func TestE164Table(t *testing.T) {
	for _, tc := range []struct{ in, country, want string }{
		{"+33 6 12 34 56 78", "", "+33612345678"},
		{"06.12.34.56.78", "fr", "+33612345678"},
		{"1111 111 111", "AU", "+611111111111"},
		{"(555) 010-0199", "US", "+15550100199"},
		{"1-555-010-0199", "US", "+15550100199"},
		{"06 12 34 56 78 x123", "FR", "+33612345678"},
		{"3 33 33 33 33", "IT", "+39333333333"},
		{"12", "FR", ""},
		{"call me", "FR", ""},
		{"0612345678", "", ""},
		{"0612345678", "ZZ", ""},
	} {
		got, err := E164(tc.in, tc.country)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("E164(%q, %q) = %q, %v; want %q", tc.in, tc.country, got, err, tc.want)
		}
	}
}

func FuzzE164(f *testing.F) {
	for _, s := range []string{"+33 6 12 34 56 78", "06 12 34 56 78", "0041 44 668 18 00", "(555) 010-0199", "1111 111 111", "+", "x", "00", "+1 555 0100 ext 5"} {
		f.Add(s, "FR")
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, phone, country string) {
		out, err := E164(phone, country)
		if err != nil {
			return
		}
		if !strings.HasPrefix(out, "+") || len(out) < 9 || len(out) > 16 {
			t.Fatalf("E164(%q, %q) = %q", phone, country, out)
		}
		for _, c := range out[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("E164(%q, %q) = %q has a non-digit", phone, country, out)
			}
		}
		again, err := E164(out, "")
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q → %q → %q, %v", phone, out, again, err)
		}
	})
}

func FuzzToDate(f *testing.F) {
	for _, s := range []string{"2026-11-27", "2026-11-27T10:00:00Z", "2026-11-27 10:00:00", "2026-02-30", "yesterday", ""} {
		f.Add(s)
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ToDate(s, paris)
		if err != nil {
			if !strings.Contains(err.Error(), "toDate") {
				t.Fatalf("unclear error %v", err)
			}
			return
		}
		if strings.TrimSpace(s) == "" && !d.IsZero() {
			t.Fatalf("empty string gave %v", d)
		}
	})
}
