package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	chschema "github.com/tajo/tajo/schemas/clickhouse"
)

// relayoutFill says how a column a relayout adds is filled from the rows of
// the old layout, when the old table has a better source than the column's
// DEFAULT. ingested_at is the time tajo wrote the row: sync_history knows it
// (synced_at), error_history and webhook_log wrote their rows when they
// happened (ts). commerce_events has no such column, so its old rows take
// the DEFAULT, now(): they are kept retention_days from the migration.
var relayoutFill = map[string]map[string]string{
	"sync_history":  {"ingested_at": "synced_at"},
	"error_history": {"ingested_at": "ts"},
	"webhook_log":   {"ingested_at": "ts"},
}

// relayout gives table the layout that create (a CREATE TABLE IF NOT EXISTS
// <table>_new statement) describes, moving its rows without loss:
//
//	create <table>_new; INSERT INTO <table>_new (cols) SELECT … FROM <table>;
//	RENAME TABLE <table> TO <table>_old, <table>_new TO <table>; DROP <table>_old
//
// It runs under the migration lock lk (migratelock.go), so no other tajo
// of this version is relayouting the same table; lk.hold before the swap
// and before the drop stops a holder that lost the lock.
//
// ClickHouse 18.16 has neither EXCHANGE TABLES nor transactions, so each step
// is made safe to repeat and relayout starts from whatever state it finds:
// a leftover _new beside an old-layout table is an unfinished copy and is
// made again; a missing table with _new and _old beside it is a swap killed
// between its two renames and is finished; a table already in the new
// layout only has its leftovers dropped. The old table is dropped only
// once the table in its place holds at least as many rows, counted at the
// moment of the drop (dropOld), so a copy something else cut short (an
// older tajo that migrates without the lock) is never what remains.
func (db *DB) relayout(ctx context.Context, lk *migrationLock, table, create string) error {
	newT, oldT := table+chschema.RelayoutSuffix, table+"_old"
	have, err := db.tableSet(ctx, table, newT, oldT)
	if err != nil {
		return err
	}
	if !have[table] && have[oldT] {
		// Killed between the renames of the swap: with _new there, the
		// copy was complete; without it, put the old table back.
		from := oldT
		if have[newT] {
			from = newT
		}
		if err := db.b.exec(ctx, fmt.Sprintf("RENAME TABLE %s TO %s", from, table)); err != nil {
			return fmt.Errorf("relayout %s: finish the swap: %w", table, err)
		}
		if have, err = db.tableSet(ctx, table, newT, oldT); err != nil {
			return err
		}
	}
	if !have[table] {
		// Nothing to move (the table was dropped by hand): the new layout
		// is the table.
		if err := db.b.exec(ctx, create); err != nil {
			return err
		}
		return db.b.exec(ctx, fmt.Sprintf("RENAME TABLE %s TO %s", newT, table))
	}
	if have[newT] {
		// Either an unfinished copy or a leftover of a finished swap: not
		// the table tajo reads, and made again from the table if needed.
		if err := db.b.exec(ctx, "DROP TABLE IF EXISTS "+newT); err != nil {
			return err
		}
	}
	if err := db.b.exec(ctx, create); err != nil {
		return err
	}
	oldCols, err := db.columns(ctx, table)
	if err != nil {
		return err
	}
	newCols, err := db.columns(ctx, newT)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(newCols, func(c string) bool { return !slices.Contains(oldCols, c) }) {
		// Already in the new layout: only leftovers remain.
		if err := db.b.exec(ctx, "DROP TABLE IF EXISTS "+newT); err != nil {
			return err
		}
		if have[oldT] {
			return db.dropOld(ctx, lk, table, oldT)
		}
		return nil
	}
	if have[oldT] {
		// Both an old-layout table and an _old one: not a state relayout
		// leaves behind, so nothing is dropped.
		return pipelineFatal("relayout", fmt.Errorf(
			"relayout %s: %s exists beside %s in the old layout; check which holds the history, drop or rename the other, and start again", table, oldT, table))
	}
	if err := db.copyRows(ctx, table, table, newT); err != nil {
		return err
	}
	// FINAL folds the same rows in both, so merges that ran meanwhile do
	// not change the figures; a redelivery that the old layout folded may
	// stay two rows in the new one (two months of ingestion), never fewer.
	nOld, err := db.count(ctx, table+" FINAL")
	if err != nil {
		return err
	}
	nNew, err := db.count(ctx, newT+" FINAL")
	if err != nil {
		return err
	}
	if nNew < nOld {
		return fmt.Errorf("relayout %s: the copy has %d rows of %d; %s is left as it was", table, nNew, nOld, table)
	}
	if err := lk.hold(ctx); err != nil {
		return fmt.Errorf("relayout %s: before the swap: %w", table, err)
	}
	if err := db.b.exec(ctx, fmt.Sprintf("RENAME TABLE %s TO %s, %s TO %s", table, oldT, newT, table)); err != nil {
		return fmt.Errorf("relayout %s: swap: %w", table, err)
	}
	return db.dropOld(ctx, lk, table, oldT)
}

// copyRows inserts every row of from into into (a table of the new layout),
// naming the columns both have and filling the added ones by relayoutFill
// (table's entry) or their DEFAULT.
func (db *DB) copyRows(ctx context.Context, table, from, into string) error {
	fromCols, err := db.columns(ctx, from)
	if err != nil {
		return err
	}
	intoCols, err := db.columns(ctx, into)
	if err != nil {
		return err
	}
	var dst, src []string
	for _, c := range intoCols {
		switch {
		case slices.Contains(fromCols, c):
			dst, src = append(dst, c), append(src, c)
		case slices.Contains(fromCols, relayoutFill[table][c]):
			dst, src = append(dst, c), append(src, relayoutFill[table][c])
		}
		// Otherwise the column takes its DEFAULT.
	}
	copySQL := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", into, strings.Join(dst, ", "), strings.Join(src, ", "), from)
	if err := db.b.exec(ctx, copySQL); err != nil {
		return fmt.Errorf("relayout %s: copy %s into %s: %w", table, from, into, err)
	}
	return nil
}

// dropOld drops oldT, the old layout of table left by the swap, once table
// holds at least as many rows (FINAL). If it holds fewer (rows an old-layout
// writer added after the copy, or a copy something else swapped in
// unfinished) oldT is copied in again first: rows are keyed, so the rows
// already there fold with their copies. If table is still short, oldT is
// kept and named.
func (db *DB) dropOld(ctx context.Context, lk *migrationLock, table, oldT string) error {
	short := func() (bool, uint64, uint64, error) {
		nOld, err := db.count(ctx, oldT+" FINAL")
		if err != nil {
			return false, 0, 0, err
		}
		nNew, err := db.count(ctx, table+" FINAL")
		return nNew < nOld, nNew, nOld, err
	}
	isShort, _, _, err := short()
	if err != nil {
		return err
	}
	if isShort {
		if err := lk.hold(ctx); err != nil {
			return fmt.Errorf("relayout %s: before copying %s again: %w", table, oldT, err)
		}
		if err := db.copyRows(ctx, table, oldT, table); err != nil {
			return err
		}
		isShort, nNew, nOld, err := short()
		if err != nil {
			return err
		}
		if isShort {
			return fmt.Errorf("relayout %s: it has %d rows, %s has %d; %s is kept", table, nNew, oldT, nOld, oldT)
		}
	}
	if err := lk.hold(ctx); err != nil {
		return fmt.Errorf("relayout %s: before dropping %s: %w", table, oldT, err)
	}
	return db.b.exec(ctx, "DROP TABLE IF EXISTS "+oldT)
}

// tableSet reports which of names exist in the current database.
func (db *DB) tableSet(ctx context.Context, names ...string) (map[string]bool, error) {
	res, err := db.systemQuery(ctx, fmt.Sprintf("SELECT name FROM system.tables WHERE database = currentDatabase() AND name IN (%s)", quoteList(names)))
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, r := range res.Rows {
		have[asString(r[0])] = true
	}
	return have, nil
}

func (db *DB) columns(ctx context.Context, table string) ([]string, error) {
	res, err := db.systemQuery(ctx, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = "+quote(table))
	if err != nil {
		return nil, err
	}
	cols := make([]string, 0, len(res.Rows))
	for _, r := range res.Rows {
		cols = append(cols, asString(r[0]))
	}
	return cols, nil
}

// systemQuery reads system.tables or system.columns. ClickHouse 18.16
// fails such a read with UNKNOWN_TABLE when a table it lists is dropped or
// renamed meanwhile (seen with four migrators at once: a waiter's look at
// the lock failed on "error_history_old doesn't exist" while the holder
// dropped it), so that error is read again a few times.
func (db *DB) systemQuery(ctx context.Context, q string) (*Result, error) {
	for i := 0; ; i++ {
		res, err := db.b.query(ctx, q)
		if !isCode(err, codeUnknownTable) || i == 20 {
			return res, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (db *DB) count(ctx context.Context, from string) (uint64, error) {
	res, err := db.b.query(ctx, "SELECT count() FROM "+from)
	if err != nil {
		return 0, err
	}
	if len(res.Rows) != 1 {
		return 0, fmt.Errorf("count of %s: %d rows", from, len(res.Rows))
	}
	return asUint(res.Rows[0][0]), nil
}
