package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	chschema "github.com/tajo/tajo/schemas/clickhouse"
)

// The migration lock keeps two migrators of one database from interleaving.
// ClickHouse has no transactions and no lock statement; the one operation it
// makes exclusive is creating a table by name: of several concurrent CREATE
// TABLE of one name, exactly one succeeds, the others fail with
// TABLE_ALREADY_EXISTS. So the lock is a table, and taking it is creating it.
//
// A migrator killed while holding it must not block every later start, so
// the lock is a lease: the holder writes its expiry (server time, so the
// clocks of different hosts do not matter) into the table and renews it
// while it works, and a lock whose lease ran out (or that its holder
// released) may be taken over. Taking over cannot be "drop and create
// again": two waiters would both drop, and the second would drop the first
// one's fresh lock. Instead every lock has an epoch in its name,
// schema_migrations_lock_<N>, and the next holder creates epoch N+1; only
// one creator of N+1 succeeds. The highest epoch is the lock; lower ones are
// dropped by the holder of a higher one, so the highest always exists and a
// stale view of the epochs cannot win: whoever creates epoch N then checks
// that nothing above N exists. The same check before each step that moves
// data (hold) fences a holder that was paused past its lease.
//
// A chosen lease is a trade-off between how long a killed migrator blocks
// the next start and how long a holder may be unable to reach the server
// before it is overtaken; a minute, renewed every third of it.
var migrationLease = time.Minute

// lockPoll is how often a waiter looks at the lock again.
var lockPoll = 100 * time.Millisecond

const (
	lockPrefix          = chschema.MigrationsTable + "_lock_"
	codeTableExists     = 57
	codeUnknownTable    = 60
	codeUnknownDatabase = 81
)

// errLockLost: another migrator took the lock over (this one's lease ran
// out); the work stops before its next step, and Open fails retryably.
var errLockLost = errors.New("the migration lock was taken over by another tajo (this one's lease ran out); nothing more was changed")

type migrationLock struct {
	db    *DB
	table string
	epoch int
	owner string

	stop chan struct{}
	done chan struct{}
}

// lockOwner names a holder in the lock table: host, pid and a random part
// (two DBs of one process migrate apart too).
func lockOwner() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// lockMigrations waits for the migration lock and takes it. It renews the
// lease in the background until release.
func (db *DB) lockMigrations(ctx context.Context) (*migrationLock, error) {
	owner := lockOwner()
	emptyEpoch, emptySince := 0, time.Time{}
	for {
		epochs, err := db.lockEpochs(ctx)
		if err != nil {
			return nil, err
		}
		top := 0
		if len(epochs) > 0 {
			top = epochs[len(epochs)-1]
		}
		held := false
		if top > 0 {
			st, err := db.lockState(ctx, top)
			switch {
			case isCode(err, codeUnknownTable):
				held = true // dropped by a newer holder: look again
			case err != nil:
				return nil, err
			case st.released:
			case st.rows == 0:
				// Created, its first lease not written yet. A creator
				// killed right there is overtaken after one lease.
				if emptyEpoch != top {
					emptyEpoch, emptySince = top, time.Now()
				}
				held = time.Since(emptySince) < migrationLease
			default:
				held = st.live
			}
		}
		if held {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(lockPoll):
			}
			continue
		}
		lk := &migrationLock{db: db, epoch: top + 1, table: lockPrefix + strconv.Itoa(top+1), owner: owner}
		err = db.b.exec(ctx, "CREATE TABLE "+lk.table+" (owner String, expires DateTime('UTC'), released UInt8) ENGINE = MergeTree ORDER BY owner")
		if isCode(err, codeTableExists) {
			continue // another migrator took this epoch
		}
		if err != nil {
			return nil, err
		}
		if err := lk.renew(ctx); errors.Is(err, errLockLost) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, e := range epochs {
			_ = db.b.exec(ctx, "DROP TABLE IF EXISTS "+lockPrefix+strconv.Itoa(e))
		}
		lk.stop, lk.done = make(chan struct{}), make(chan struct{})
		go lk.heartbeat()
		return lk, nil
	}
}

// renew writes a new lease and checks that no newer epoch exists.
func (lk *migrationLock) renew(ctx context.Context) error {
	err := lk.db.b.exec(ctx, fmt.Sprintf("INSERT INTO %s (owner, expires, released) SELECT %s, now() + %d, 0",
		lk.table, quote(lk.owner), int(migrationLease/time.Second)))
	if isCode(err, codeUnknownTable) {
		return errLockLost // dropped by the holder of a newer epoch
	}
	if err != nil {
		return err
	}
	epochs, err := lk.db.lockEpochs(ctx)
	if err != nil {
		return err
	}
	if len(epochs) > 0 && epochs[len(epochs)-1] > lk.epoch {
		return errLockLost
	}
	return nil
}

// hold renews the lease before a step that moves data, and fails if the
// lock was lost: a holder paused past its lease must not swap or drop a
// table another migrator is working on.
func (lk *migrationLock) hold(ctx context.Context) error { return lk.renew(ctx) }

func (lk *migrationLock) heartbeat() {
	defer close(lk.done)
	t := time.NewTicker(migrationLease / 3)
	defer t.Stop()
	for {
		select {
		case <-lk.stop:
			return
		case <-t.C:
			// A failed renewal is retried at the next tick; hold, before
			// each step, is what acts on a lost lock.
			ctx, cancel := context.WithTimeout(context.Background(), migrationLease/3)
			_ = lk.renew(ctx)
			cancel()
		}
	}
}

// release ends the lease at once, so a waiter need not wait it out. If it
// cannot be written, the lease simply runs out.
func (lk *migrationLock) release() {
	close(lk.stop)
	<-lk.done
	ctx, cancel := context.WithTimeout(context.Background(), lk.db.cfg.Timeout)
	defer cancel()
	_ = lk.db.b.exec(ctx, fmt.Sprintf("INSERT INTO %s (owner, expires, released) SELECT %s, now(), 1", lk.table, quote(lk.owner)))
}

// lockEpochs lists the epochs of the lock tables present, lowest first.
func (db *DB) lockEpochs(ctx context.Context) ([]int, error) {
	res, err := db.systemQuery(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name LIKE "+quote(lockPrefix+"%"))
	if err != nil {
		return nil, err
	}
	var out []int
	for _, r := range res.Rows {
		n, err := strconv.Atoi(strings.TrimPrefix(asString(r[0]), lockPrefix))
		if err == nil && n > 0 && strings.HasPrefix(asString(r[0]), lockPrefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

type lockState struct {
	rows     uint64
	released bool
	live     bool // the newest lease has not run out, by the server's clock
}

func (db *DB) lockState(ctx context.Context, epoch int) (lockState, error) {
	res, err := db.b.query(ctx, "SELECT count(), max(released), max(expires) > now() FROM "+lockPrefix+strconv.Itoa(epoch))
	if err != nil {
		return lockState{}, err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 3 {
		return lockState{}, fmt.Errorf("lock %d: %v", epoch, res.Rows)
	}
	r := res.Rows[0]
	return lockState{rows: asUint(r[0]), released: asUint(r[1]) > 0, live: asUint(r[2]) > 0}, nil
}

// migrationLocked reports whether a migrator holds the lock now.
func (db *DB) migrationLocked(ctx context.Context) (bool, error) {
	epochs, err := db.lockEpochs(ctx)
	if err != nil || len(epochs) == 0 {
		return false, err
	}
	st, err := db.lockState(ctx, epochs[len(epochs)-1])
	if err != nil {
		return false, err
	}
	return !st.released && (st.rows == 0 || st.live), nil
}

// isCode reports whether err is the ClickHouse exception code.
func isCode(err error, code int32) bool {
	c, ok := exceptionCode(err)
	return ok && c == code
}
