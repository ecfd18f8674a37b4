package schemas

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The fast paths of unquote and Tags must agree with encoding/json on every
// input: same value, or both an error.
func FuzzUnquoteAgreesWithJSON(f *testing.F) {
	for _, s := range []string{`"a"`, `"Zoë ✓"`, `"a\"b"`, `"\u00e9"`, `"tab\there"`, "\"\xff\"", `""`, `"`, `["a", "b"]`, `[]`, `[ "x" ,"y" ]`, `["a",]`, `["\u0041"]`, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want string
		werr := json.Unmarshal(b, &want)
		got, gerr := unquote(b)
		if (werr == nil) != (gerr == nil) || (werr == nil && got != want) {
			t.Fatalf("unquote(%q) = %q, %v; encoding/json: %q, %v", b, got, gerr, want, werr)
		}
		if fast, ok := plainStringArray(b); ok {
			var arr []string
			if err := json.Unmarshal(b, &arr); err != nil || !reflect.DeepEqual(fast, arr) {
				t.Fatalf("plainStringArray(%q) = %q; encoding/json: %q, %v", b, fast, arr, err)
			}
		}
	})
}
