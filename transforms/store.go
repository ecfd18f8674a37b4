package transforms

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline/state"
)

// store is the durable state of the guard and the aggregates: the engine's
// bbolt store behind a journal.
//
// A bbolt transaction costs an fsync, so one per record would cap the
// chain at a few hundred events per second. Instead, every record's changes
// are appended to a journal file with a single write(2) before Process
// returns: the bytes are in the kernel, so a kill -9 at any later moment
// loses nothing, and the record's offset cannot have been committed before
// that write (sinks see the record only after Process returns). The
// journal is folded into bbolt (one fsynced transaction) every second or
// every checkpointEntries changes, and replayed on open. Entries are whole
// values, so replaying one twice is harmless.
//
// A power loss (not a process crash) can lose what was journaled since the
// last checkpoint, the same trade-off as broker.embedded.fsync: false.
type store struct {
	mu      sync.Mutex
	st      state.Store // nil: memory only (tajo test)
	journal *os.File
	dirty   map[string][]byte // bucket "\x00" key → value; nil value = deleted
	// clean keeps what the last checkpoints wrote, so the keys of the
	// current traffic are read without a bbolt transaction. Bounded: it is
	// dropped when it reaches cleanBytes.
	clean     map[string][]byte
	cleanSize int
	dirtySize int
	pending   []byte
	kbuf      []byte // get's key, under mu
	size      int64  // bytes of whole records in the journal
	last      time.Time
	interval  time.Duration
}

const (
	checkpointEntries = 8192
	checkpointBytes   = 8 << 20
	cleanBytes        = 16 << 20
)

func newMemStore() *store { return &store{dirty: map[string][]byte{}} }

// openStore opens the journal at path over st and replays what a previous
// process left in it.
func openStore(st state.Store, path string) (*store, error) {
	s := &store{st: st, dirty: map[string][]byte{}, interval: time.Second, last: time.Now()}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("transforms journal: %w", err)
	}
	s.journal = f
	if err := s.replay(); err != nil {
		f.Close()
		return nil, err
	}
	if err := s.checkpoint(); err != nil {
		f.Close()
		return nil, err
	}
	// Whatever replay could not read (a record torn by a crash) goes too,
	// or it would hide the records appended after it.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("transforms journal: %w", err)
	}
	return s, nil
}

func (s *store) replay() error {
	r := bufio.NewReader(io.NewSectionReader(s.journal, 0, 1<<62))
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil // end, or a torn header from a crash mid-write
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > 64<<20 {
			return nil
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil || crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(hdr[4:]) {
			return nil // a torn last record was never acknowledged: its record is redelivered
		}
		for len(body) > 0 {
			var k, v []byte
			var del bool
			var err error
			if k, body, err = chunk(body); err != nil {
				return nil
			}
			if len(body) == 0 {
				return nil
			}
			del, body = body[0] == 1, body[1:]
			if v, body, err = chunk(body); err != nil {
				return nil
			}
			if del {
				v = nil
			}
			s.dirty[string(k)] = v
		}
	}
}

func chunk(b []byte) ([]byte, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return nil, nil, errors.New("short")
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

func dkey(bucket, key string) string { return bucket + "\x00" + key }

// get returns the value of key; the slice must not be modified.
func (s *store) get(bucket, key string) ([]byte, error) {
	s.mu.Lock()
	// The key is built in a reused buffer: a map lookup by string(kbuf)
	// does not allocate.
	s.kbuf = append(append(append(s.kbuf[:0], bucket...), 0), key...)
	v, ok := s.dirty[string(s.kbuf)]
	if !ok {
		v, ok = s.clean[string(s.kbuf)]
	}
	s.mu.Unlock()
	if ok || s.st == nil {
		return v, nil
	}
	return s.st.Get(bucket, key)
}

func (s *store) put(bucket, key string, val []byte) { s.set(bucket, key, val, false) }

func (s *store) del(bucket, key string) { s.set(bucket, key, nil, true) }

func (s *store) set(bucket, key string, val []byte, del bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := dkey(bucket, key)
	s.dirtySize += len(k) + len(val)
	if del {
		s.dirty[k] = nil
	} else {
		s.dirty[k] = append([]byte(nil), val...)
	}
	if s.journal == nil {
		return
	}
	s.pending = binary.AppendUvarint(s.pending, uint64(len(k)))
	s.pending = append(s.pending, k...)
	if del {
		s.pending = append(s.pending, 1)
	} else {
		s.pending = append(s.pending, 0)
	}
	s.pending = binary.AppendUvarint(s.pending, uint64(len(val)))
	s.pending = append(s.pending, val...)
}

// commit makes the changes since the last commit survive a process crash.
// Stages call it before Process returns.
func (s *store) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil || len(s.pending) == 0 {
		return nil
	}
	rec := make([]byte, 8, 8+len(s.pending))
	binary.LittleEndian.PutUint32(rec[:4], uint32(len(s.pending)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(s.pending))
	rec = append(rec, s.pending...)
	if _, err := s.journal.Write(rec); err != nil {
		// A torn record would hide every later one from replay: cut the
		// journal back to its last whole record before the retry.
		if terr := s.journal.Truncate(s.size); terr != nil {
			return fmt.Errorf("transforms journal: %w (and truncating it back: %v)", err, terr)
		}
		return fmt.Errorf("transforms journal: %w", err)
	}
	s.size += int64(len(rec))
	s.pending = s.pending[:0]
	if len(s.dirty) >= checkpointEntries || s.dirtySize >= checkpointBytes || time.Since(s.last) >= s.interval {
		return s.checkpointLocked()
	}
	return nil
}

func (s *store) checkpoint() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkpointLocked()
}

// checkpointLocked folds the journal into bbolt and empties both.
func (s *store) checkpointLocked() error {
	s.last = time.Now()
	if s.st == nil || len(s.dirty) == 0 {
		return nil
	}
	// Sorted keys make bbolt's inserts walk its tree in order: about twice
	// as fast as the map's random order for a journal full of event ids.
	keys := make([]string, 0, len(s.dirty))
	for k := range s.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	err := s.st.Update(func(tx state.Tx) error {
		for _, k := range keys {
			v := s.dirty[k]
			i := 0
			for i < len(k) && k[i] != 0 {
				i++
			}
			bucket, key := k[:i], k[i+1:]
			if v == nil {
				if err := tx.Delete(bucket, key); err != nil {
					return err
				}
				continue
			}
			if err := tx.Put(bucket, key, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("transforms state checkpoint: %w", err)
	}
	if err := s.journal.Truncate(0); err != nil {
		return fmt.Errorf("transforms journal: %w", err)
	}
	s.size = 0
	if s.clean == nil || s.cleanSize > cleanBytes {
		s.clean, s.cleanSize = make(map[string][]byte, len(s.dirty)), 0
	}
	for k, v := range s.dirty {
		s.clean[k] = v
		s.cleanSize += len(k) + len(v)
	}
	clear(s.dirty)
	s.dirtySize = 0
	return nil
}

// sweep visits every key of bucket, in bbolt and in the journal, and
// returns up to limit keys of bbolt whose value old says are expired;
// keep sees every other key. Entries still in the journal are recent by
// construction.
func (s *store) sweep(bucket string, limit int, old func(v []byte) bool, keep func(k []byte)) ([]string, error) {
	s.mu.Lock()
	prefix := bucket + "\x00"
	for k, v := range s.dirty {
		if v != nil && len(k) > len(prefix) && k[:len(prefix)] == prefix {
			keep([]byte(k[len(prefix):]))
		}
	}
	s.mu.Unlock()
	if s.st == nil {
		return nil, nil
	}
	var keys []string
	err := s.st.View(func(tx state.Tx) error {
		return tx.ForEach(bucket, func(k, v []byte) error {
			if len(keys) < limit && old(v) {
				keys = append(keys, string(k))
			} else {
				keep(k)
			}
			return nil
		})
	})
	return keys, err
}

// keysAfter returns the keys of bucket after the given one, in order,
// from bbolt and the journal, without the deleted ones.
func (s *store) keysAfter(bucket, after string) ([]string, error) {
	s.mu.Lock()
	prefix := bucket + "\x00"
	var keys []string
	gone := map[string]bool{}
	for k, v := range s.dirty {
		if k, ok := strings.CutPrefix(k, prefix); ok && k > after {
			if v == nil {
				gone[k] = true
			} else {
				keys = append(keys, k)
			}
		}
	}
	s.mu.Unlock()
	if s.st != nil {
		err := s.st.View(func(tx state.Tx) error {
			return tx.ForEach(bucket, func(k, _ []byte) error {
				if string(k) > after && !gone[string(k)] {
					keys = append(keys, string(k))
				}
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// durable reports whether gets can reach bbolt (and so are worth avoiding).
func (s *store) durable() bool { return s.st != nil }

// Close checkpoints and closes the journal.
func (s *store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return nil
	}
	err := s.checkpointLocked()
	if cerr := s.journal.Close(); err == nil {
		err = cerr
	}
	s.journal = nil
	return err
}
