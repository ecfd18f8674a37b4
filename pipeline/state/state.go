package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store is a small durable key-value store, namespaced by bucket.
type Store interface {
	// Get returns a copy of the value, or nil when the key is absent.
	Get(bucket, key string) ([]byte, error)
	// Put writes one key durably.
	Put(bucket, key string, value []byte) error
	// Delete removes one key durably; a missing key is not an error.
	Delete(bucket, key string) error
	// Update runs fn in one atomic, durable transaction.
	Update(fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(fn func(Tx) error) error
	Close() error
}

// Tx is a transaction on a Store. Values returned by Get are valid only
// inside the transaction.
type Tx interface {
	Get(bucket, key string) []byte
	Put(bucket, key string, value []byte) error
	Delete(bucket, key string) error
	// ForEach visits the keys of a bucket in byte order; returning an error
	// stops the walk.
	ForEach(bucket string, fn func(key, value []byte) error) error
	// Buckets visits the names of the buckets.
	Buckets(fn func(name string) error) error
}

// ErrLocked means another process holds the store.
var ErrLocked = errors.New("state store is in use by another tajo process")

// Open opens (creating if needed) the store at path.
func Open(path string) (Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("state %s: %w", path, ErrLocked)
		}
		return nil, fmt.Errorf("state %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

type boltStore struct{ db *bolt.DB }

func (s *boltStore) Get(bucket, key string) ([]byte, error) {
	var out []byte
	err := s.View(func(tx Tx) error {
		if v := tx.Get(bucket, key); v != nil {
			out = append([]byte(nil), v...)
		}
		return nil
	})
	return out, err
}

func (s *boltStore) Put(bucket, key string, value []byte) error {
	return s.Update(func(tx Tx) error { return tx.Put(bucket, key, value) })
}

func (s *boltStore) Delete(bucket, key string) error {
	return s.Update(func(tx Tx) error { return tx.Delete(bucket, key) })
}

func (s *boltStore) Update(fn func(Tx) error) error {
	return s.db.Update(func(t *bolt.Tx) error { return fn(boltTx{t}) })
}

func (s *boltStore) View(fn func(Tx) error) error {
	return s.db.View(func(t *bolt.Tx) error { return fn(boltTx{t}) })
}

func (s *boltStore) Close() error { return s.db.Close() }

type boltTx struct{ t *bolt.Tx }

func (x boltTx) Get(bucket, key string) []byte {
	b := x.t.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Get([]byte(key))
}

func (x boltTx) Put(bucket, key string, value []byte) error {
	b, err := x.t.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return err
	}
	return b.Put([]byte(key), value)
}

func (x boltTx) Delete(bucket, key string) error {
	b := x.t.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(key))
}

func (x boltTx) Buckets(fn func(name string) error) error {
	return x.t.ForEach(func(name []byte, _ *bolt.Bucket) error { return fn(string(name)) })
}

func (x boltTx) ForEach(bucket string, fn func(k, v []byte) error) error {
	b := x.t.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.ForEach(fn)
}
