package expression

import (
	"fmt"
	"strings"
	"testing"
)

// e164Reference is E164 as it was before its digits moved to a stack
// buffer; FuzzE164AgreesWithReference holds the two together.
func e164Reference(phone, country string) (string, error) {
	s := strings.TrimSpace(phone)
	if i := strings.IndexAny(s, "xX#;,"); i > 0 {
		s = s[:i] // extension
	}
	intl := strings.HasPrefix(s, "+")
	var digits strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteRune(r)
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", fmt.Errorf("e164: %q is not a phone number", clip(phone))
		}
	}
	d := digits.String()
	switch {
	case intl:
	case strings.HasPrefix(d, "00"):
		d = d[2:]
	default:
		cc, ok := callingCodes[strings.ToUpper(strings.TrimSpace(country))]
		if !ok {
			if country == "" {
				return "", fmt.Errorf("e164: %q has no country code and no default country is set (set transforms.phone_country)", clip(phone))
			}
			return "", fmt.Errorf("e164: unknown country %q for %q", clip(country), clip(phone))
		}
		if cc == "1" && strings.HasPrefix(d, "1") && len(d) == 11 {
			d = d[1:]
		} else if strings.HasPrefix(d, "0") && !keepTrunkZero[strings.ToUpper(country)] {
			d = d[1:]
		}
		d = cc + d
	}
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return "", fmt.Errorf("e164: %q is not a valid international number (want 8 to 15 digits after +)", clip(phone))
	}
	return "+" + d, nil
}

func FuzzE164AgreesWithReference(f *testing.F) {
	for _, s := range []string{"+33 6 12 34 56 78", "06 12 34 56 78", "0041 44 668 18 00", "(555) 010-0199", "1 555 010 0199", "1111 111 111", "+", "x", "00", "0", "", "+1 555 0100 ext 5", "00 0000", "+0123456789", "0612345678901234567890123456789012345", "+61 411 111 111", "\xff"} {
		for _, c := range []string{"FR", "US", "it", "", "ZZ", " au "} {
			f.Add(s, c)
		}
	}
	f.Fuzz(func(t *testing.T, phone, country string) {
		got, err := E164(phone, country)
		want, werr := e164Reference(phone, country)
		if got != want || fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("E164(%q, %q) = %q, %v; want %q, %v", phone, country, got, err, want, werr)
		}
	})
}
