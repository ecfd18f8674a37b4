package config

import (
	"encoding/json"
	"fmt"
)

// Secret is a credential read from the configuration (a password, a key).
// It masks itself wherever it could be printed: fmt's verbs (%v, %+v, %s,
// %q, %#v), JSON, YAML and text encoding all give Masked, so a config or
// an error that embeds one never shows it. Reveal is the one way to the
// value, for the code that authenticates with it.
type Secret string

// Masked is what a set Secret prints as; an empty one prints as "".
const Masked = "xxxxx"

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Masked
}

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return fmt.Sprintf("config.Secret(%q)", s.String()) }

// Format implements fmt.Formatter, so no verb (%x, %d…) reaches the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	case 'v':
		if f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText implements encoding.TextMarshaler (YAML, logrus fields).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }
