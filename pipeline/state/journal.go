package state

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
)

// Journal is the Store with batched commits: the state of stages that
// change keys for every record (guard marks, customer aggregates, dedupe
// windows).
//
// A bbolt transaction costs an fsync, so one per record would cap a chain
// at a few hundred events per second. Instead Put and Delete change an
// in-memory layer that Get sees at once, and Commit appends what changed
// since the last Commit to a journal file with a single write(2): once it
// returns the bytes are in the kernel, so a kill -9 at any later moment
// loses nothing. The engine commits once per batch, before any record of
// the batch reaches a sink (invariant 1). The journal is folded into bbolt
// (one fsynced transaction) every second or every checkpointEntries
// changes, at Close, and replayed on open. Entries are whole values, so
// replaying one twice is harmless.
//
// A power loss (not a process crash) can lose what was journaled since the
// last checkpoint, the same trade-off as broker.embedded.fsync: false.
//
// Keys with a lifetime (a dedupe window) keep their time in their value;
// Sweep finds the expired ones for the owner to Delete.
type Journal struct {
	mu      sync.Mutex
	st      Store // nil: memory only (tajo test)
	journal *os.File
	dirty   map[string][]byte // bucket "\x00" key → value; nil value = deleted
	// clean keeps what the last checkpoints wrote, so the keys of the
	// current traffic are read without a bbolt transaction. Bounded: it is
	// dropped when it reaches cleanBytes. Small on purpose: a bbolt read
	// of a key is about a microsecond (the file is mapped), and at 16 MiB
	// this cache was a third of tajo's memory on a 100,000-customer run
	// (max RSS 124 MB against 79 MB at 2 MiB, the same CPU).
	clean     map[string][]byte
	cleanSize int
	dirtySize int
	pending   []byte
	kbuf      []byte // Get's key, under mu
	// known holds every key written through the journal or in the store
	// when it opened (learnKeys); nil: ask the store.
	known    *keyFilter
	size     int64 // bytes of whole records in the journal
	last     time.Time
	interval time.Duration
}

const (
	// Half of what they were: the changes waiting for a checkpoint are
	// held in memory twice (map and journal record), and at 8192 / 8 MiB
	// they were a tenth of a file → file run's memory (max RSS 84 → 77 MB,
	// the same CPU; a checkpoint's fsyncs then come twice as often).
	checkpointEntries = 4096
	checkpointBytes   = 4 << 20
	cleanBytes        = 2 << 20
	// maxRecord bounds a journal record at replay: a larger length is a
	// torn header, not a record.
	maxRecord = 64 << 20
)

// NewMemoryJournal returns a Journal that keeps everything in memory and
// whose Commit does nothing (tajo test, simulations).
func NewMemoryJournal() *Journal { return &Journal{dirty: map[string][]byte{}} }

// OpenJournal opens the journal file at path in front of st and replays
// what a previous process left in it. One process opens one Journal per
// store: the engine's runner, which hands it to components in
// pipeline.Env.
func OpenJournal(st Store, path string) (*Journal, error) {
	j := &Journal{st: st, dirty: map[string][]byte{}, interval: time.Second, last: time.Now()}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state journal: %w", err)
	}
	j.journal = f
	j.replay()
	if err := j.Checkpoint(); err != nil {
		f.Close()
		return nil, err
	}
	if err := j.learnKeys(); err != nil {
		f.Close()
		return nil, err
	}
	// Whatever replay could not read (a record torn by a crash) goes too,
	// or it would hide the records appended after it. A checkpoint of
	// nothing does not truncate, so this one always does.
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("state journal: %w", err)
	}
	return j, nil
}

// learnKeys fills the key filter with every key the store holds, so that
// Get knows the others are absent without asking it. Every key the
// journal is asked for must be written through it (or be in the store
// when it opens): a key written into the store behind its back would read
// as absent.
func (j *Journal) learnKeys() error {
	f := newKeyFilter(0)
	errTooMany := errors.New("too many keys")
	err := j.st.View(func(tx Tx) error {
		return tx.Buckets(func(bucket string) error {
			return tx.ForEach(bucket, func(k, _ []byte) error {
				if !f.add(dkey(bucket, string(k))) {
					return errTooMany // the store answers: no need to read on
				}
				return nil
			})
		})
	})
	switch {
	case errors.Is(err, errTooMany):
		j.known = nil
	case err != nil:
		return fmt.Errorf("state journal: reading the store's keys: %w", err)
	default:
		j.known = f
	}
	return nil
}

// replay reads the journal's whole records into dirty. It stops at the
// first record it cannot read: a torn last record was never acknowledged
// (its Commit did not return), so its record is redelivered.
func (j *Journal) replay() {
	r := bufio.NewReader(io.NewSectionReader(j.journal, 0, 1<<62))
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return // the end, or a header torn by a crash mid-write
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > maxRecord {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil || crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(hdr[4:]) {
			return
		}
		for len(body) > 0 {
			var k, v []byte
			var err error
			if k, body, err = chunk(body); err != nil || len(body) == 0 {
				return
			}
			del := body[0] == 1
			if v, body, err = chunk(body[1:]); err != nil {
				return
			}
			if del {
				v = nil
			}
			j.dirty[string(k)] = v
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

// Get returns the value of key, or nil when it is absent, with every Put
// and Delete applied, committed or not. The slice must not be modified.
func (j *Journal) Get(bucket, key string) ([]byte, error) {
	j.mu.Lock()
	// The key is built in a reused buffer: a map lookup by string(kbuf)
	// does not allocate.
	j.kbuf = append(append(append(j.kbuf[:0], bucket...), 0), key...)
	v, ok := j.dirty[string(j.kbuf)]
	if !ok {
		v, ok = j.clean[string(j.kbuf)]
	}
	if !ok && j.known != nil && !j.known.mayHave(j.kbuf) {
		// Never written here nor in the store when it opened: absent,
		// without a store transaction (every new key of a backfill).
		ok = true
	}
	j.mu.Unlock()
	if ok || j.st == nil {
		return v, nil
	}
	return j.st.Get(bucket, key)
}

// Put sets key to a copy of value; durable at the next Commit.
func (j *Journal) Put(bucket, key string, value []byte) { j.set(bucket, key, value, false) }

// Delete removes key; durable at the next Commit. A missing key is not an
// error.
func (j *Journal) Delete(bucket, key string) { j.set(bucket, key, nil, true) }

func (j *Journal) set(bucket, key string, val []byte, del bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	k := dkey(bucket, key)
	if j.known != nil && !j.known.add(k) {
		j.known = nil // outgrown: ask the store (see filterMaxBytes)
	}
	j.dirtySize += len(k) + len(val)
	if del {
		j.dirty[k] = nil
	} else {
		j.dirty[k] = append([]byte(nil), val...)
	}
	if j.journal == nil {
		return
	}
	j.pending = binary.AppendUvarint(j.pending, uint64(len(k)))
	j.pending = append(j.pending, k...)
	if del {
		j.pending = append(j.pending, 1)
	} else {
		j.pending = append(j.pending, 0)
	}
	j.pending = binary.AppendUvarint(j.pending, uint64(len(val)))
	j.pending = append(j.pending, val...)
}

// Commit makes every Put and Delete since the last Commit survive a
// process crash: one write(2) of one journal record. It checkpoints into
// the store when the journal is due (a second, or enough changes).
func (j *Journal) Commit() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.journal == nil || len(j.pending) == 0 {
		return nil
	}
	rec := make([]byte, 8, 8+len(j.pending))
	binary.LittleEndian.PutUint32(rec[:4], uint32(len(j.pending)))
	binary.LittleEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(j.pending))
	rec = append(rec, j.pending...)
	if _, err := j.journal.Write(rec); err != nil {
		// A torn record would hide every later one from replay: cut the
		// journal back to its last whole record before the retry.
		if terr := j.journal.Truncate(j.size); terr != nil {
			return fmt.Errorf("state journal: %w (and truncating it back: %v)", err, terr)
		}
		return fmt.Errorf("state journal: %w", err)
	}
	j.size += int64(len(rec))
	j.pending = j.pending[:0]
	if len(j.dirty) >= checkpointEntries || j.dirtySize >= checkpointBytes || time.Since(j.last) >= j.interval {
		return j.checkpointLocked()
	}
	return nil
}

// Save puts key and commits: durable against kill -9 when it returns,
// which is how a source keeps its position before it acks (one write(2),
// not a store transaction with its fsyncs per ack).
func (j *Journal) Save(bucket, key string, value []byte) error {
	j.Put(bucket, key, value)
	return j.Commit()
}

// Positions is where a source keeps its place: read when it opens, saved
// durably before it acks. *Journal is one.
type Positions interface {
	Get(bucket, key string) ([]byte, error)
	Save(bucket, key string, value []byte) error
}

// Checkpoint folds what is journaled into the store now. Changes not yet
// committed are folded too: a checkpoint never loses a change, it only
// makes it durable earlier.
func (j *Journal) Checkpoint() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.checkpointLocked()
}

// checkpointLocked folds dirty into bbolt and empties the journal.
func (j *Journal) checkpointLocked() error {
	j.last = time.Now()
	if j.st == nil || len(j.dirty) == 0 {
		return nil
	}
	// Sorted keys make bbolt's inserts walk its tree in order: about twice
	// as fast as the map's random order for a journal full of event ids.
	keys := make([]string, 0, len(j.dirty))
	for k := range j.dirty {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	err := j.st.Update(func(tx Tx) error {
		for _, k := range keys {
			bucket, key, _ := strings.Cut(k, "\x00")
			if v := j.dirty[k]; v != nil {
				if err := tx.Put(bucket, key, v); err != nil {
					return err
				}
			} else if err := tx.Delete(bucket, key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state checkpoint: %w", err)
	}
	if j.journal != nil {
		if err := j.journal.Truncate(0); err != nil {
			return fmt.Errorf("state journal: %w", err)
		}
	}
	j.size = 0
	// What was pending is in bbolt now: journaling it again would only
	// replay it twice.
	j.pending = j.pending[:0]
	if j.clean == nil || j.cleanSize > cleanBytes {
		j.clean, j.cleanSize = make(map[string][]byte, len(j.dirty)), 0
	}
	for k, v := range j.dirty {
		j.clean[k] = v
		j.cleanSize += len(k) + len(v)
	}
	clear(j.dirty)
	j.dirtySize = 0
	return nil
}

// Sweep visits every key of bucket, in the store and in the journal, and
// returns up to limit keys of the store whose value expired says are
// expired; keep, when not nil, sees every other key. Entries still in the journal are
// recent by construction (at most a checkpoint old), so they are kept.
func (j *Journal) Sweep(bucket string, limit int, expired func(v []byte) bool, keep func(k []byte)) ([]string, error) {
	if keep == nil {
		keep = func([]byte) {}
	}
	j.mu.Lock()
	prefix := bucket + "\x00"
	for k, v := range j.dirty {
		if k, ok := strings.CutPrefix(k, prefix); ok && v != nil {
			keep([]byte(k))
		}
	}
	j.mu.Unlock()
	if j.st == nil {
		return nil, nil
	}
	var keys []string
	err := j.st.View(func(tx Tx) error {
		return tx.ForEach(bucket, func(k, v []byte) error {
			if len(keys) < limit && expired(v) {
				keys = append(keys, string(k))
			} else {
				keep(k)
			}
			return nil
		})
	})
	return keys, err
}

// KeysAfter returns the keys of bucket after the given one, in order, from
// the store and the journal, without the deleted ones.
func (j *Journal) KeysAfter(bucket, after string) ([]string, error) {
	j.mu.Lock()
	prefix := bucket + "\x00"
	var keys []string
	gone := map[string]bool{}
	for k, v := range j.dirty {
		if k, ok := strings.CutPrefix(k, prefix); ok && k > after {
			if v == nil {
				gone[k] = true
			} else {
				keys = append(keys, k)
			}
		}
	}
	j.mu.Unlock()
	if j.st != nil {
		err := j.st.View(func(tx Tx) error {
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

// Durable reports whether a Get can reach the store (and so is worth
// avoiding, with a filter of the keys that exist).
func (j *Journal) Durable() bool { return j.st != nil }

// Close checkpoints and closes the journal file; the store stays open (its
// owner closes it). Closing twice is harmless.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.journal == nil {
		return nil
	}
	err := j.checkpointLocked()
	if cerr := j.journal.Close(); err == nil {
		err = cerr
	}
	j.journal = nil
	return err
}
