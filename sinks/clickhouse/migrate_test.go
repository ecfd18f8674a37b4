package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	chschema "github.com/tajo/tajo/schemas/clickhouse"
)

// testConcurrentMigrators: several tajo processes starting at once on one
// store of the old layout (two `tajo run`s sharing a server, or a run and a
// CLI) all open it without an error, and the store ends migrated once, with
// every row.
func testConcurrentMigrators(t *testing.T, h *backendHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for round := 0; round < 3; round++ {
		db, cfg, dataDir := h.open(t, nil)
		synced := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		oldLayout(t, db)
		oldRows(t, db, 3000, synced)
		before := oldSnapshots(t, db)

		const migrators = 4
		start := time.Now()
		errs := make([]error, migrators)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d, err := OpenConfig(ctx, cfg, dataDir)
				if err == nil {
					d.Close()
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: migrator %d: %v", round, i, err)
			}
		}
		t.Logf("%s: %d migrators at once moved %d rows in %s", h.name, migrators, len(before["sync_history"])+3, time.Since(start).Round(time.Millisecond))
		checkMigrated(t, db, before, synced, start)
		db.Close() // chDB: one directory per process, and each round has its own
		if t.Failed() {
			return
		}
	}
}

// testMigrationLock: a migrator waits while another holds the lock, takes
// over a lock whose holder was killed (its lease ran out, or it died before
// writing its first lease), and a holder whose lock was taken over stops
// before its next step.
func testMigrationLock(t *testing.T, h *backendHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, cfg, dataDir := h.open(t, nil)
	synced := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	oldLayout(t, db)
	oldRows(t, db, 200, synced)
	before := oldSnapshots(t, db)
	newLock := func(epoch int, lease string) {
		t.Helper()
		table := fmt.Sprintf("%s%d", lockPrefix, epoch)
		stmts := []string{"CREATE TABLE " + table + " (owner String, expires DateTime('UTC'), released UInt8) ENGINE = MergeTree ORDER BY owner"}
		if lease != "" {
			stmts = append(stmts, "INSERT INTO "+table+" (owner, expires, released) SELECT 'killed', "+lease+", 0")
		}
		for _, st := range stmts {
			if err := db.b.exec(ctx, st); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Held: the other migrator waits, and finds the work to do once the
	// lock is released.
	lk, err := db.lockMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		d, err := OpenConfig(ctx, cfg, dataDir)
		if err == nil {
			d.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("a migrator ran while another held the lock: %v", err)
	case <-time.After(time.Second):
	}
	if cols, _ := db.columns(ctx, "sync_history"); slices.Contains(cols, "ingested_at") {
		t.Fatal("sync_history was relayouted while another migrator held the lock")
	}
	start := time.Now()
	lk.release()
	if err := <-opened; err != nil {
		t.Fatal(err)
	}
	checkMigrated(t, db, before, synced, start)
	epochs, err := db.lockEpochs(ctx)
	if err != nil || !reflect.DeepEqual(epochs, []int{lk.epoch + 1}) {
		t.Errorf("lock tables left: %v %v, want only the last holder's (%d)", epochs, err, lk.epoch+1)
	}
	if locked, err := db.migrationLocked(ctx); err != nil || locked {
		t.Errorf("after the migration the lock is held: %v %v", locked, err)
	}

	// Taken over: the holder must not go on.
	lk, err = db.lockMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	newLock(lk.epoch+1, "now() + 60")
	if err := lk.hold(ctx); !errors.Is(err, errLockLost) {
		t.Errorf("hold after a takeover: %v, want errLockLost", err)
	}
	lk.release()

	// A holder killed after writing its lease: the next one waits the
	// lease out (here it has run out already), not forever.
	newLock(lk.epoch+2, "now() - 1")
	lk2, err := db.lockMigrations(ctx)
	if err != nil {
		t.Fatalf("a lock whose lease ran out: %v", err)
	}
	if lk2.epoch != lk.epoch+3 {
		t.Errorf("took epoch %d, want %d", lk2.epoch, lk.epoch+3)
	}
	lk2.release()

	// A holder killed between creating the lock and writing its lease:
	// taken over after one lease.
	lease := migrationLease
	migrationLease = 2 * time.Second
	defer func() { migrationLease = lease }()
	newLock(lk2.epoch+1, "")
	start = time.Now()
	lk3, err := db.lockMigrations(ctx)
	if err != nil {
		t.Fatalf("a lock with no lease written: %v", err)
	}
	if waited := time.Since(start); waited < migrationLease {
		t.Errorf("took over an unwritten lock after %s, want one lease (%s)", waited, migrationLease)
	}
	lk3.release()
}

// testOpenExisting: the CLI's open reads a migrated store, and refuses a
// store of an older layout (or none) with what to do, changing nothing.
func testOpenExisting(t *testing.T, h *backendHarness) {
	ctx := context.Background()
	db, cfg, dataDir := h.open(t, nil)
	if ro, err := OpenExisting(ctx, cfg, dataDir); err != nil {
		t.Fatalf("migrated store: %v", err)
	} else {
		if _, err := ro.Query(ctx, "SELECT count() FROM sync_history"); err != nil {
			t.Errorf("query: %v", err)
		}
		ro.Close()
	}

	oldLayout(t, db)
	oldRows(t, db, 10, t0)
	locks, _ := db.lockEpochs(ctx)
	_, err := OpenExisting(ctx, cfg, dataDir)
	var se *SchemaError
	if !errors.As(err, &se) || se.At != 4 || se.Need != 6 || se.Migrating {
		t.Fatalf("old layout: %v, want a SchemaError at 4 of 6", err)
	}
	const want = "the history store is at migration 4, this tajo needs 6: start tajo run once to migrate"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	if cols, _ := db.columns(ctx, "sync_history"); slices.Contains(cols, "ingested_at") {
		t.Error("the reader migrated sync_history")
	}
	if epochs, _ := db.lockEpochs(ctx); !reflect.DeepEqual(epochs, locks) {
		t.Errorf("the reader took the migration lock: %v", epochs)
	}

	lk, err := db.lockMigrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = OpenExisting(ctx, cfg, dataDir)
	lk.release()
	if !errors.As(err, &se) || !se.Migrating || !strings.Contains(err.Error(), "migrating it right now") {
		t.Errorf("while a tajo migrates: %v", err)
	}

	for _, table := range append(slices.Clone(historyTables), chschema.MigrationsTable) {
		if err := db.b.exec(ctx, "DROP TABLE IF EXISTS "+table); err != nil {
			t.Fatal(err)
		}
	}
	if _, err = OpenExisting(ctx, cfg, dataDir); !errors.As(err, &se) || se.At != 0 || !strings.Contains(err.Error(), "no tajo tables yet") {
		t.Errorf("empty store: %v", err)
	}
	if h.name == "server" {
		// No database either: the reader does not create it.
		c := *cfg
		c.DSN = srv.DSN(fmt.Sprintf("tajo_absent_%d", dbSeq.Add(1)))
		if _, err = OpenExisting(ctx, &c, dataDir); !errors.As(err, &se) || se.At != 0 {
			t.Errorf("missing database: %v", err)
		}
		if res := query(t, db, "SELECT count() FROM system.databases WHERE name LIKE 'tajo_absent%'"); res.Rows[0][0] != uint64(0) {
			t.Errorf("the reader created the database")
		}
	}
}

// testConcurrentFreshStart: the same on a store nothing has created yet,
// the first start of `tajo run` with a CLI (or the outage test's poll)
// opening beside it: every open succeeds and the schema is made once.
func testConcurrentFreshStart(t *testing.T, h *backendHarness) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for round := 0; round < 3; round++ {
		dsn, dataDir := h.fresh(t)
		cfg := DefaultConfig()
		cfg.DSN = dsn
		const migrators = 4
		dbs := make([]*DB, migrators)
		errs := make([]error, migrators)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dbs[i], errs[i] = OpenConfig(ctx, cfg, dataDir)
			}()
		}
		wg.Wait()
		var db *DB
		for i, err := range errs {
			if err != nil {
				t.Errorf("round %d: migrator %d: %v", round, i, err)
			} else if db == nil {
				db = dbs[i]
			}
		}
		if db == nil {
			return
		}
		if got, err := db.Applied(ctx); err != nil || !reflect.DeepEqual(got, []uint32{1, 2, 3, 4, 5, 6}) {
			t.Errorf("round %d: applied %v %v", round, got, err)
		}
		for _, table := range historyTables {
			if cols, err := db.columns(ctx, table); err != nil || !slices.Contains(cols, "ingested_at") {
				t.Errorf("round %d: %s has columns %v (%v), want the layout of migration 5", round, table, cols, err)
			}
		}
		left := query(t, db, "SELECT name FROM system.tables WHERE database = currentDatabase() AND (name LIKE '%\\_new' OR name LIKE '%\\_old')").Rows
		if len(left) > 0 {
			t.Errorf("round %d: leftover tables: %v", round, left)
		}
		for _, d := range dbs {
			if d != nil {
				d.Close()
			}
		}
		if t.Failed() {
			return
		}
	}
}
