package transforms

import (
	"hash/fnv"
	"testing"
)

// The guard's marks store these hashes: fnv64a must stay hash/fnv's.
func TestFNV64aIsHashFNV(t *testing.T) {
	for _, s := range []string{"", "a", "0123456789abcdef0123456789abcdef", "shop.myshopify.com\x00Zoë", string([]byte{0, 255, 128})} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnv64a(fnvOffset, s), h.Sum64(); got != want {
			t.Errorf("%q: %x, want %x", s, got, want)
		}
		if got, want := fnv64a(fnv64a(fnvOffset, []byte(s)), []byte(s)), fnv64a(fnvOffset, s+s); got != want {
			t.Errorf("%q: chained %x, want %x", s, got, want)
		}
	}
}
