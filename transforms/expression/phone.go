package expression

import (
	"fmt"
	"strings"
)

// callingCodes maps ISO 3166 alpha-2 countries to their calling code, for
// numbers written in national form. Countries whose national numbers keep
// their leading 0 after the country code are listed in keepTrunkZero.
var callingCodes = map[string]string{
	"US": "1", "CA": "1", "PR": "1", "GB": "44", "IE": "353", "FR": "33", "DE": "49", "ES": "34",
	"IT": "39", "PT": "351", "NL": "31", "BE": "32", "LU": "352", "CH": "41", "AT": "43", "DK": "45",
	"SE": "46", "NO": "47", "FI": "358", "IS": "354", "PL": "48", "CZ": "420", "SK": "421", "HU": "36",
	"RO": "40", "BG": "359", "GR": "30", "HR": "385", "SI": "386", "RS": "381", "EE": "372", "LV": "371",
	"LT": "370", "UA": "380", "TR": "90", "IL": "972", "AE": "971", "SA": "966", "QA": "974", "EG": "20",
	"MA": "212", "TN": "216", "DZ": "213", "ZA": "27", "NG": "234", "KE": "254", "GH": "233", "IN": "91",
	"PK": "92", "BD": "880", "LK": "94", "CN": "86", "HK": "852", "TW": "886", "JP": "81", "KR": "82",
	"SG": "65", "MY": "60", "TH": "66", "VN": "84", "PH": "63", "ID": "62", "AU": "61", "NZ": "64",
	"MX": "52", "BR": "55", "AR": "54", "CL": "56", "CO": "57", "PE": "51", "UY": "598", "VE": "58",
	"MC": "377", "MT": "356", "CY": "357", "RU": "7", "KZ": "7",
}

var keepTrunkZero = map[string]bool{"IT": true, "MC": true}

// KnownCountry reports whether e164 can use country (ISO 3166 alpha-2, any
// case) for numbers written without an international prefix.
func KnownCountry(country string) bool {
	_, ok := callingCodes[strings.ToUpper(country)]
	return ok
}

// E164 normalises phone to E.164 (+<country code><number>). A number
// starting with + or 00 is international; otherwise country (alpha-2)
// supplies the code and a national trunk 0 is dropped. Punctuation and
// spaces are ignored. The result must have 8 to 15 digits, the range a
// real E.164 number has, or E164 returns an error.
func E164(phone, country string) (string, error) {
	s := strings.TrimSpace(phone)
	if i := strings.IndexAny(s, "xX#;,"); i > 0 {
		s = s[:i] // extension
	}
	intl := strings.HasPrefix(s, "+")
	// Digits go to a buffer on the stack: the result is the only
	// allocation.
	var buf [32]byte
	d := buf[:0]
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			d = append(d, byte(r))
		case r == '+' || r == ' ' || r == '-' || r == '.' || r == '(' || r == ')' || r == '/' || r == '\u00a0':
		default:
			return "", fmt.Errorf("e164: %q is not a phone number", clip(phone))
		}
	}
	cc := ""
	switch {
	case intl:
	case len(d) >= 2 && d[0] == '0' && d[1] == '0':
		d = d[2:]
	default:
		var ok bool
		cc, ok = callingCodes[strings.ToUpper(strings.TrimSpace(country))]
		if !ok {
			if country == "" {
				return "", fmt.Errorf("e164: %q has no country code and no default country is set (set transforms.phone_country)", clip(phone))
			}
			return "", fmt.Errorf("e164: unknown country %q for %q", clip(country), clip(phone))
		}
		if cc == "1" && len(d) == 11 && d[0] == '1' {
			d = d[1:]
		} else if len(d) > 0 && d[0] == '0' && !keepTrunkZero[strings.ToUpper(country)] {
			d = d[1:]
		}
	}
	n := len(cc) + len(d)
	if n < 8 || n > 15 || (cc == "" && d[0] == '0') || (cc != "" && cc[0] == '0') {
		return "", fmt.Errorf("e164: %q is not a valid international number (want 8 to 15 digits after +)", clip(phone))
	}
	var out [16]byte
	return string(append(append(append(out[:0], '+'), cc...), d...)), nil
}
