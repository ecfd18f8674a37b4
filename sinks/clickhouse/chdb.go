package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrLocked is returned (wrapped) when another process has the chDB
// directory open. chDB is ClickHouse itself running in-process, and like a
// server it takes an exclusive lock on its data directory: while `tajo run`
// holds it, a second process (e.g. a `tajo connectors status` CLI call)
// cannot open the same directory and must ask the running process instead.
var ErrLocked = errors.New("chDB directory is in use by another process")

// chDB runs one session per process (a second chdb_connect closes the
// first), so every DB opened on chdb:// in this process shares one session,
// counted by refs, and only one directory can be open at a time.
var sessions struct {
	sync.Mutex
	cur *chdbSession
}

type chdbSession struct {
	dir  string
	refs int
	// lock is held by the one statement chDB is running: it answers one
	// at a time per session. A channel, so a caller whose context ends
	// stops waiting for it.
	lock chan struct{}
	// adhoc is held by the one ad-hoc query (queryLimited) waiting for or
	// holding lock: the history writes queue behind at most one of them,
	// which max_execution_time bounds.
	adhoc chan struct{}
	conn  *chdbConn
}

type embedded struct {
	s *chdbSession
}

func openChdb(dir string) (*embedded, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, pipelineFatal("invalid_dsn", err)
	}
	sessions.Lock()
	defer sessions.Unlock()
	if s := sessions.cur; s != nil {
		if s.dir != abs {
			return nil, pipelineFatal("chdb_busy", fmt.Errorf("chDB has %s open in this process and runs one directory per process; cannot also open %s", s.dir, abs))
		}
		s.refs++
		return &embedded{s: s}, nil
	}
	l, err := loadLibchdb()
	if err != nil {
		return nil, pipelineFatal("chdb_library", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, pipelineFatal("chdb_dir", err)
	}
	// A CLI command (tajo history, connectors status) that reads the
	// directory while no run holds it has it for a moment: a start that
	// races one waits it out instead of failing. A directory another run
	// holds is still refused, after openWait.
	var conn *chdbConn
	deadline := time.Now().Add(openWait)
	for attempt := 1; ; attempt++ {
		err := checkUnlocked(abs)
		if err == nil {
			if conn, err = chdbConnect(l, []string{"clickhouse", "--path=" + abs}); err == nil {
				break
			}
			// Another process may have taken the lock since the check:
			// chDB says only that the connect failed.
			if lerr := checkUnlocked(abs); lerr != nil {
				err = lerr
			} else if attempt >= 3 {
				return nil, pipelineFatal("chdb_open", fmt.Errorf("open chDB at %s: %w", abs, err))
			}
		}
		if time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
	s := &chdbSession{dir: abs, refs: 1, conn: conn, lock: make(chan struct{}, 1), adhoc: make(chan struct{}, 1)}
	sessions.cur = s
	return &embedded{s: s}, nil
}

// openWait bounds how long openChdb waits for a directory another
// process holds.
const openWait = 2 * time.Second

// checkUnlocked tries the lock chDB takes on <dir>/status, so that a
// directory held by another process is reported as ErrLocked with advice
// rather than as chDB's failed connect.
func checkUnlocked(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, "status"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return pipelineFatal("chdb_dir", err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return &lockedError{dir: dir}
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}

type lockedError struct{ dir string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("%s: %v (embedded ClickHouse allows one process per directory: "+
		"query the running `tajo run` through its control API, stop it first, "+
		"or use a ClickHouse server DSN, clickhouse://user:pass@host:9000/db, for shared access)", e.dir, ErrLocked)
}

func (e *lockedError) Unwrap() error { return ErrLocked }

func (e *embedded) name() string { return "chdb" }

func (e *embedded) run(ctx context.Context, q, format string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, classify(err)
	}
	select {
	case e.s.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, classify(ctx.Err())
	}
	defer func() { <-e.s.lock }()
	if e.s.conn == nil {
		return nil, pipelineFatal("closed", errors.New("chDB session is closed"))
	}
	out, err := e.s.conn.query(q, format)
	if err != nil {
		// A query that fails after its output began (a result limit, a
		// timeout) leaves that output in the session, and chDB hands it to
		// the next statement as the start of its own. Run a throwaway one
		// to take it.
		_, _ = e.s.conn.query("SELECT 1", "TabSeparated")
		return nil, classify(newChdbError(err.Error()))
	}
	return out, nil
}

// queryLimited appends the settings as a SETTINGS clause (chDB takes no
// settings beside the query). checkSQL refused any clause of the query's
// own and cut trailing comments, so this one applies to the whole
// statement.
func (e *embedded) queryLimited(ctx context.Context, q string, settings []setting) (*Result, error) {
	select {
	case e.s.adhoc <- struct{}{}:
	case <-ctx.Done():
		return nil, classify(ctx.Err())
	}
	defer func() { <-e.s.adhoc }()
	var b strings.Builder
	b.WriteString(q)
	for i, kv := range settings {
		if i == 0 {
			b.WriteString("\nSETTINGS ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %d", kv.name, kv.value)
	}
	return e.query(ctx, b.String())
}

func (e *embedded) exec(ctx context.Context, stmt string) error {
	_, err := e.run(ctx, stmt, "TabSeparated")
	return err
}

func (e *embedded) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") FORMAT TabSeparated\n")
	buf := []byte(b.String())
	for _, r := range rows {
		if len(r) != len(cols) {
			return pipelineFatal("internal", fmt.Errorf("insert %s: %d values for %d columns", table, len(r), len(cols)))
		}
		for i, v := range r {
			if i > 0 {
				buf = append(buf, '\t')
			}
			var err error
			if buf, err = appendTSV(buf, v); err != nil {
				return pipelineFatal("internal", fmt.Errorf("insert %s column %s: %w", table, cols[i], err))
			}
		}
		buf = append(buf, '\n')
	}
	_, err := e.run(ctx, string(buf), "TabSeparated")
	return err
}

func (e *embedded) query(ctx context.Context, q string) (*Result, error) {
	out, err := e.run(ctx, q, "TabSeparatedWithNamesAndTypes")
	if err != nil {
		return nil, err
	}
	res, err := parseTSVWithNamesAndTypes(out)
	if err != nil {
		return nil, pipelineFatal("chdb_output", err)
	}
	return res, nil
}

func (e *embedded) close() error {
	sessions.Lock()
	defer sessions.Unlock()
	s := e.s
	if s == nil {
		return nil
	}
	e.s = nil
	s.refs--
	if s.refs > 0 {
		return nil
	}
	s.lock <- struct{}{}
	s.conn.close()
	s.conn = nil
	<-s.lock
	sessions.cur = nil
	return nil
}
