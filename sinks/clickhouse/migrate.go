package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tajo/tajo/pipeline"
	chschema "github.com/tajo/tajo/schemas/clickhouse"
)

// Migrate applies the migrations the database has not recorded. It runs in
// the writer's Open (`tajo run`), before this process writes a row.
//
// Several processes may start on one server at once (two `tajo run`s
// sharing it, a run beside an older CLI that still migrates), and a
// relayout is a copy, a swap and a drop that must not interleave with
// another: two of them at once copied every row twice and swapped a copy
// another one was still filling. So the migrations run under the migration
// lock (migratelock.go), and the list of what is pending is read again once
// it is held: whoever waited finds the work done. Every statement is still
// idempotent (IF NOT EXISTS, or a relayout that resumes from the state it
// finds), so a migration killed before it was recorded simply runs again.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := chschema.Migrations()
	if err != nil {
		return pipeline.Stop(err)
	}
	if err := db.b.exec(ctx, chschema.MigrationsDDL); err != nil {
		return fmt.Errorf("create %s: %w", chschema.MigrationsTable, err)
	}
	pending, err := db.pending(ctx, ms)
	if err != nil || len(pending) == 0 {
		// Nothing to do needs no lock: a migration is recorded only once
		// its statements are done.
		return err
	}
	lk, err := db.lockMigrations(ctx)
	if err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	defer lk.release()
	if pending, err = db.pending(ctx, ms); err != nil {
		return err
	}
	for _, m := range pending {
		for _, s := range m.Statements {
			var err error
			if table, ok := chschema.RelayoutTarget(s); ok {
				err = db.relayout(ctx, lk, table, s)
			} else {
				err = db.b.exec(ctx, s)
			}
			if err != nil {
				return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
			}
		}
		if err := lk.hold(ctx); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		row := []any{m.Version, m.Name, db.now()}
		if err := db.b.insert(ctx, chschema.MigrationsTable, []string{"version", "name", "applied_at"}, [][]any{row}); err != nil {
			return fmt.Errorf("record migration %04d_%s: %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// pending lists the migrations of ms the database has not recorded.
func (db *DB) pending(ctx context.Context, ms []chschema.Migration) ([]chschema.Migration, error) {
	applied, err := db.Applied(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", chschema.MigrationsTable, err)
	}
	var out []chschema.Migration
	for _, m := range ms {
		if !slices.Contains(applied, m.Version) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Applied lists the recorded migration versions, oldest first.
func (db *DB) Applied(ctx context.Context) ([]uint32, error) {
	res, err := db.b.query(ctx, "SELECT DISTINCT version FROM "+chschema.MigrationsTable+" ORDER BY version")
	if err != nil {
		return nil, err
	}
	out := make([]uint32, 0, len(res.Rows))
	for _, r := range res.Rows {
		out = append(out, uint32(asUint(r[0])))
	}
	return out, nil
}

// ErrSchemaBehind is wrapped by the *SchemaError OpenExisting returns.
var ErrSchemaBehind = errors.New("the history store's schema is older than this tajo's")

// SchemaError is a store OpenExisting will not read: it lacks migrations
// this tajo's queries need, and only the writer (`tajo run`) migrates.
type SchemaError struct {
	At        uint32 // every migration up to At is applied; 0 for none
	Need      uint32 // the newest migration this tajo knows
	Migrating bool   // a tajo holds the migration lock right now
}

func (e *SchemaError) Error() string {
	var msg string
	if e.At == 0 {
		msg = fmt.Sprintf("the history store has no tajo tables yet (migration 0, this tajo needs %d): start tajo run once to create them", e.Need)
	} else {
		msg = fmt.Sprintf("the history store is at migration %d, this tajo needs %d: start tajo run once to migrate", e.At, e.Need)
	}
	if e.Migrating {
		msg += " (a tajo is migrating it right now: try again when it has started)"
	}
	return msg
}

func (e *SchemaError) Unwrap() error { return ErrSchemaBehind }

func schemaBehind(at uint32, migrating bool) error {
	ms, _ := chschema.Migrations()
	need := uint32(0)
	if len(ms) > 0 {
		need = ms[len(ms)-1].Version
	}
	return &SchemaError{At: at, Need: need, Migrating: migrating}
}

// checkSchema is OpenExisting's stand-in for Migrate: it changes nothing,
// and refuses a store that lacks a migration this tajo knows.
func (db *DB) checkSchema(ctx context.Context) error {
	ms, err := chschema.Migrations()
	if err != nil {
		return pipeline.Stop(err)
	}
	have, err := db.tableSet(ctx, chschema.MigrationsTable)
	if err != nil {
		return err
	}
	var applied []uint32
	if have[chschema.MigrationsTable] {
		if applied, err = db.Applied(ctx); err != nil {
			return fmt.Errorf("read %s: %w", chschema.MigrationsTable, err)
		}
	}
	at, behind := uint32(0), false
	for _, m := range ms {
		if !slices.Contains(applied, m.Version) {
			behind = true
			break
		}
		at = m.Version
	}
	if !behind {
		return nil
	}
	migrating, err := db.migrationLocked(ctx)
	if err != nil {
		migrating = false // only a hint in the message
	}
	return schemaBehind(at, migrating)
}
