package state

import (
	"errors"
	"path/filepath"
	"testing"
)

func TestStorePersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("b", "missing"); err != nil || v != nil {
		t.Fatalf("missing key: %v %v", v, err)
	}
	if err := s.Put("b", "k", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	// Several keys in one transaction, and a failed transaction changes nothing.
	if err := s.Update(func(tx Tx) error {
		if err := tx.Put("b", "a", []byte("1")); err != nil {
			return err
		}
		return tx.Put("c", "ü", []byte("ünïcode"))
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Update(func(tx Tx) error {
		tx.Put("b", "k", []byte("lost"))
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("want boom, got %v", err)
	}
	if err := s.Delete("b", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("nobucket", "x"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Get("b", "k"); string(v) != "v1" {
		t.Fatalf("k = %q, want v1 (the failed transaction must not apply)", v)
	}
	if v, _ := s.Get("b", "a"); v != nil {
		t.Fatalf("deleted key is back: %q", v)
	}
	var keys []string
	s.View(func(tx Tx) error {
		return tx.ForEach("c", func(k, v []byte) error { keys = append(keys, string(k)+"="+string(v)); return nil })
	})
	if len(keys) != 1 || keys[0] != "ü=ünïcode" {
		t.Fatalf("ForEach = %v", keys)
	}
}
