package clickhouse

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// DB is tajo's history store on either backend: the sink writes through it,
// and the CLI queries through it.
type DB struct {
	b    backend
	cfg  Config
	now  func() time.Time
	sync *batcher // sync_history
	comm *batcher // commerce_events
	hook *batcher // webhook_log
	errs *batcher // error_history
	chks *batcher // connection_checks

	closeOnce sync.Once
}

// Open connects to the backend sinks.clickhouse.dsn names and applies any
// pending migrations. dataDir anchors a relative chdb:// directory.
//
// Within one process every Open of the same chdb:// directory shares one
// chDB session, so `tajo run`'s sink and its control API can both hold a DB.
// A second process cannot open a chDB directory another process holds: it
// gets an error wrapping ErrLocked (see there). Server DSNs have no such
// limit.
func Open(ctx context.Context, dsn, dataDir string) (*DB, error) {
	cfg := DefaultConfig()
	cfg.DSN = dsn
	return OpenConfig(ctx, cfg, dataDir)
}

// OpenConfig is Open with every sinks.clickhouse setting. It is the writer's
// open (`tajo run`): it migrates, under the migration lock (migrate.go).
func OpenConfig(ctx context.Context, cfg *Config, dataDir string) (*DB, error) {
	return open(ctx, cfg, dataDir, true)
}

// OpenExisting opens a store `tajo run` has created and migrated, for the
// CLI: it creates nothing (no database, no table) and never migrates, so a
// `tajo connectors status` or `tajo query` started beside a `tajo run` that
// is migrating the same server cannot collide with it. A store older than
// this tajo's schema is refused with a *SchemaError that says so; one newer
// is read (migrations only add).
func OpenExisting(ctx context.Context, cfg *Config, dataDir string) (*DB, error) {
	return open(ctx, cfg, dataDir, false)
}

func open(ctx context.Context, cfg *Config, dataDir string, migrate bool) (*DB, error) {
	kind, dir, err := parseDSN(cfg.DSN)
	if err != nil {
		return nil, pipelineFatal("invalid_dsn", fmt.Errorf("sinks.clickhouse.dsn: %w", err))
	}
	c := *cfg
	if c.BatchRows <= 0 {
		c.BatchRows = DefaultConfig().BatchRows
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = DefaultConfig().FlushInterval
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultConfig().Timeout
	}
	var b backend
	switch kind {
	case "chdb":
		b, err = openChdb(chdbDir(dir, dataDir))
	default:
		var tc *tls.Config
		if tc, err = c.TLS.ClientConfig(); err != nil {
			return nil, pipelineFatal("tls", fmt.Errorf("sinks.clickhouse.tls: %w", err))
		}
		octx, cancel := context.WithTimeout(ctx, c.Timeout)
		b, err = openNative(octx, c.DSN, tc, c.Timeout, migrate)
		cancel()
	}
	if !migrate && isCode(err, codeUnknownDatabase) {
		return nil, schemaBehind(0, false)
	}
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", redact(c.DSN), err)
	}
	db := &DB{b: b, cfg: c, now: func() time.Time { return time.Now().UTC() }}
	if migrate {
		err = db.Migrate(ctx)
	} else {
		err = db.checkSchema(ctx)
	}
	if err != nil {
		b.close()
		return nil, err
	}
	db.sync = db.newBatcher("sync_history", syncCols)
	db.comm = db.newBatcher("commerce_events", commerceCols)
	db.hook = db.newBatcher("webhook_log", webhookCols)
	db.errs = db.newBatcher("error_history", errorCols)
	db.chks = db.newBatcher("connection_checks", checkCols)
	return db, nil
}

// Backend is "chdb" or "server".
func (db *DB) Backend() string { return db.b.name() }

// Close flushes what is pending and releases the backend.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		for _, b := range []*batcher{db.sync, db.comm, db.hook, db.errs, db.chks} {
			if b != nil {
				b.stop()
			}
		}
		db.b.close()
	})
	return nil
}

// RecordOutcomes writes sync_history rows for events handled by any sink. It
// returns once they are stored, gathering concurrent callers into one insert
// (up to batch_rows, waiting at most flush_interval). Writing the same
// outcome twice is harmless: rows are keyed by shop, sink and event id.
func (db *DB) RecordOutcomes(ctx context.Context, outs []Outcome) error {
	rows, err := outcomeRows(outs, db.now())
	if err != nil {
		return err
	}
	return db.sync.add(ctx, rows, false)
}

// outcomeRows checks and converts outcomes. A malformed outcome is a bug in
// the sink that reported it, so it stops the pipeline rather than being
// retried forever or silently dropped.
func outcomeRows(outs []Outcome, now time.Time) ([][]any, error) {
	rows := make([][]any, len(outs))
	for i, o := range outs {
		r, err := o.row(now)
		if err != nil {
			return nil, pipeline.Stop(fmt.Errorf("outcome %d (event %s): %w", i, o.EventID, err))
		}
		rows[i] = r
	}
	return rows, nil
}

// RecordWebhooks writes webhook_log rows, gathered like RecordOutcomes.
func (db *DB) RecordWebhooks(ctx context.Context, hooks []WebhookLogRow) error {
	now := db.now()
	rows := make([][]any, len(hooks))
	for i, w := range hooks {
		r, err := w.row(now)
		if err != nil {
			return pipeline.Stop(fmt.Errorf("webhook %d: %w", i, err))
		}
		rows[i] = r
	}
	return db.hook.add(ctx, rows, false)
}

// RecordCommerce writes commerce_events rows.
func (db *DB) RecordCommerce(ctx context.Context, evs []CommerceEvent) error {
	now := db.now()
	rows := make([][]any, len(evs))
	for i, c := range evs {
		rows[i] = c.row(now)
	}
	return db.comm.add(ctx, rows, true)
}

// RecordChecks writes connection_checks rows and returns once they are
// stored.
func (db *DB) RecordChecks(ctx context.Context, checks []pipeline.ConnectionCheck) error {
	now := db.now()
	rows := make([][]any, len(checks))
	for i, c := range checks {
		r, err := checkRow(c, now)
		if err != nil {
			return pipeline.Stop(fmt.Errorf("connection check %d: %w", i, err))
		}
		rows[i] = r
	}
	return db.chks.add(ctx, rows, true)
}

// RecordDeadLetters writes error_history rows and returns once they are
// stored.
func (db *DB) RecordDeadLetters(ctx context.Context, dls []pipeline.DeadLetter) error {
	now := db.now()
	rows := make([][]any, len(dls))
	for i, d := range dls {
		rows[i] = deadLetterRow(d, now)
	}
	return db.errs.add(ctx, rows, true)
}

// historyTables are the tables retention applies to.
var historyTables = []string{"sync_history", "error_history", "webhook_log", "commerce_events", "connection_checks"}

// Retain drops every monthly partition whose whole month ended more than
// days before now, and returns what it dropped ("table/partition").
// Dropping a partition is how ClickHouse 18.16 expires data (no TTL).
//
// Partitions are months of ingested_at, the time tajo wrote the rows, so a
// row goes retention_days (up to a month more) after it was written,
// whatever the date of its event: a backfilled 2019 order keeps its history.
func (db *DB) Retain(ctx context.Context, days int, now time.Time) ([]string, error) {
	if days <= 0 {
		return nil, nil
	}
	cutoff := now.UTC().AddDate(0, 0, -days)
	keep := cutoff.Year()*100 + int(cutoff.Month()) // the cutoff's month still holds live rows
	q := fmt.Sprintf("SELECT DISTINCT table, partition FROM system.parts WHERE database = currentDatabase() AND active AND table IN (%s) ORDER BY table, partition",
		quoteList(historyTables))
	res, err := db.b.query(ctx, q)
	if err != nil {
		return nil, err
	}
	var dropped []string
	for _, r := range res.Rows {
		table, part := asString(r[0]), strings.Trim(asString(r[1]), "'")
		month, err := strconv.Atoi(part)
		if err != nil || month >= keep {
			continue
		}
		if err := db.b.exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP PARTITION %d", table, month)); err != nil {
			return dropped, fmt.Errorf("drop %s partition %d: %w", table, month, err)
		}
		dropped = append(dropped, fmt.Sprintf("%s/%d", table, month))
	}
	return dropped, nil
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = quote(x)
	}
	return strings.Join(q, ", ")
}

// quote makes s a ClickHouse string literal; only backslash and the quote
// need escaping.
func quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `\'`) + "'"
}

// batcher owns one table's pending rows. Callers hand it rows and wait for
// the insert that carries them; its one goroutine builds each batch and
// flushes when it reaches batch_rows, when flush_interval passes, or at once
// when a caller asks (the sink's Write already is a batch).
type batcher struct {
	db    *DB
	table string
	cols  []string
	in    chan *pending
	quit  chan struct{}
	done  chan struct{}
}

type pending struct {
	rows [][]any
	now  bool
	errc chan error
}

func (db *DB) newBatcher(table string, cols []string) *batcher {
	b := &batcher{db: db, table: table, cols: cols, in: make(chan *pending), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

var errClosed = errors.New("clickhouse: closed")

func (b *batcher) add(ctx context.Context, rows [][]any, now bool) error {
	if len(rows) == 0 {
		return nil
	}
	p := &pending{rows: rows, now: now, errc: make(chan error, 1)}
	select {
	case b.in <- p:
	case <-ctx.Done():
		return pipeline.Retry(ctx.Err())
	case <-b.quit:
		return pipeline.Retry(errClosed)
	}
	select {
	case err := <-p.errc:
		return err
	case <-ctx.Done():
		// The insert may still land; rows are keyed, so a retry is harmless.
		return pipeline.Retry(ctx.Err())
	}
}

func (b *batcher) loop() {
	defer close(b.done)
	var waiting []*pending
	n := 0
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		timer.Stop()
		if len(waiting) > 0 {
			b.flush(waiting, n)
		}
		waiting, n = nil, 0
	}
	for {
		select {
		case p := <-b.in:
			if len(waiting) == 0 {
				timer.Reset(b.db.cfg.FlushInterval)
			}
			waiting = append(waiting, p)
			n += len(p.rows)
			if p.now || n >= b.db.cfg.BatchRows {
				flush()
			}
		case <-timer.C:
			flush()
		case <-b.quit:
			flush()
			return
		}
	}
}

// flush inserts the rows of every waiting caller, in chunks of batch_rows,
// and tells each caller the outcome of the chunks that carried its rows.
func (b *batcher) flush(waiting []*pending, n int) {
	all := make([][]any, 0, n)
	for _, p := range waiting {
		all = append(all, p.rows...)
	}
	var err error
	for start := 0; start < len(all) && err == nil; {
		end := chunkEnd(all, start, b.db.cfg.BatchRows)
		ctx, cancel := context.WithTimeout(context.Background(), b.db.cfg.Timeout)
		err = b.db.b.insert(ctx, b.table, b.cols, all[start:end])
		cancel()
		start = end
	}
	if err != nil {
		err = fmt.Errorf("insert into %s: %w", b.table, err)
	}
	for _, p := range waiting {
		p.errc <- err
	}
}

// maxInsertBytes bounds the text of one INSERT: dead letters carry whole
// payloads, and chDB's insert is built as one string, so a batch of large
// payloads is split well before batch_rows.
const maxInsertBytes = 32 << 20

// chunkEnd is where the insert starting at rows[start] ends: after maxRows
// rows or once its strings reach maxInsertBytes, whichever comes first, and
// never before one row.
func chunkEnd(rows [][]any, start, maxRows int) int {
	size := 0
	for i := start; i < len(rows); i++ {
		if i-start == maxRows || (i > start && size >= maxInsertBytes) {
			return i
		}
		for _, v := range rows[i] {
			if s, ok := v.(string); ok {
				size += len(s)
			}
		}
	}
	return len(rows)
}

func (b *batcher) stop() {
	close(b.quit)
	<-b.done
}

func asString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func asUint(v any) uint64 {
	switch x := v.(type) {
	case uint64:
		return x
	case int64:
		if x > 0 {
			return uint64(x)
		}
	}
	return 0
}
