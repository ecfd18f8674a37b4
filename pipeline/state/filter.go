package state

import "hash/maphash"

// keyFilter is a Bloom filter of the keys the store may hold, so that a
// Get of a key it never held (every new customer, order or event of a
// backfill) is answered without a store transaction. It grows by layers:
// when the newest is full, a new one of twice its size is added, and a key
// may be present when any layer says so. A false "may be" costs one store
// read; there is no false "absent".
type keyFilter struct {
	layers []filterLayer
	n      int // keys added to the newest layer
}

type filterLayer struct {
	bits []uint64
	mask uint64 // len(bits)*64 - 1: a power of two
	cap  int    // keys it holds at about 1% false positives
}

const (
	filterBitsPerKey = 10 // with filterProbes = 4: about 1.2% false positives
	filterProbes     = 4
	filterMinKeys    = 1 << 16
	// filterMaxBytes bounds the filter: keys deleted from the store stay
	// in it (expired dedupe marks), so it grows with every distinct key
	// written since the process started. Past this, about 13 million
	// keys, it is dropped and Get asks the store until the next start,
	// which rebuilds it from what the store holds then.
	filterMaxBytes = 16 << 20
)

var filterSeed = maphash.MakeSeed()

func newKeyFilter(keys int) *keyFilter {
	f := &keyFilter{}
	f.grow(max(keys*2, filterMinKeys))
	return f
}

func (f *keyFilter) grow(keys int) {
	words := 1
	for words*64 < keys*filterBitsPerKey {
		words *= 2
	}
	f.layers = append(f.layers, filterLayer{bits: make([]uint64, words), mask: uint64(words*64 - 1), cap: words * 64 / filterBitsPerKey})
	f.n = 0
}

// add records k; it reports false when the filter would outgrow
// filterMaxBytes, and must then be dropped.
func (f *keyFilter) add(k string) bool {
	h1, h2 := filterHashes(maphash.String(filterSeed, k))
	if f.has(h1, h2) {
		return true // a key written again does not grow the filter
	}
	last := &f.layers[len(f.layers)-1]
	if f.n >= last.cap {
		if f.bytes()+16*len(last.bits) > filterMaxBytes {
			return false
		}
		f.grow(2 * last.cap)
		last = &f.layers[len(f.layers)-1]
	}
	for i := uint64(0); i < filterProbes; i++ {
		bit := (h1 + i*h2) & last.mask
		last.bits[bit/64] |= 1 << (bit % 64)
	}
	f.n++
	return true
}

func (f *keyFilter) bytes() int {
	n := 0
	for _, l := range f.layers {
		n += 8 * len(l.bits)
	}
	return n
}

// mayHave reports whether k may have been added; false is certain.
func (f *keyFilter) mayHave(k []byte) bool {
	return f.has(filterHashes(maphash.Bytes(filterSeed, k)))
}

func (f *keyFilter) has(h1, h2 uint64) bool {
layers:
	for i := range f.layers {
		l := &f.layers[i]
		for p := uint64(0); p < filterProbes; p++ {
			bit := (h1 + p*h2) & l.mask
			if l.bits[bit/64]&(1<<(bit%64)) == 0 {
				continue layers
			}
		}
		return true
	}
	return false
}

// filterHashes derives the probes' two hashes from one (double hashing);
// the step is odd, so the probes of a layer never repeat.
func filterHashes(h uint64) (uint64, uint64) { return h, h>>32 | h<<32 | 1 }
