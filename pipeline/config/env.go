package config

import (
	"fmt"
	"os"
	"strings"
)

// LookupEnv is how interpolation reads the environment; tests replace it.
type LookupEnv func(name string) (string, bool)

// interpolate expands ${NAME} and ${NAME:-default} in s. $$ is a literal $.
// An unset variable without a default is an error naming the variable; an
// empty default (${NAME:-}) is allowed and means "empty unless set".
func interpolate(s string, lookup LookupEnv) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("unclosed ${ in %q", s)
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("invalid environment variable name %q", name)
		}
		v, ok := lookup(name)
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", &undefinedEnvError{name: name}
		}
		i += 2 + end
	}
	return b.String(), nil
}

type undefinedEnvError struct{ name string }

func (e *undefinedEnvError) Error() string {
	return fmt.Sprintf("environment variable %s is not set", e.name)
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func osLookup(name string) (string, bool) { return os.LookupEnv(name) }
