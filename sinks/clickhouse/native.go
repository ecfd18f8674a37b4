package clickhouse

import (
	"context"
	"crypto/tls"
	"fmt"
	"reflect"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"
)

// native is a ClickHouse server over the native protocol (clickhouse-go).
// Verified against 18.16 (server revision 54412) and current releases.
type native struct {
	conn driver.Conn
	db   string
}

// openNative connects; with createDB it first creates the DSN's database
// (the writer's open), otherwise a missing one is an UNKNOWN_DATABASE error.
func openNative(ctx context.Context, dsn string, tlsConf *tls.Config, timeout time.Duration, createDB bool) (*native, error) {
	opts, err := ch.ParseDSN(dsn)
	if err != nil {
		return nil, pipelineFatal("invalid_dsn", err)
	}
	if tlsConf != nil {
		opts.TLS = tlsConf
	}
	if timeout > 0 {
		opts.DialTimeout = timeout
		opts.ReadTimeout = timeout
	}
	db := opts.Auth.Database
	if createDB && db != "" && db != "default" {
		// The database must exist before a connection can select it.
		o := *opts
		o.Auth.Database = "default"
		c, err := ch.Open(&o)
		if err != nil {
			return nil, classify(err)
		}
		err = c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(db))
		c.Close()
		if err != nil {
			return nil, classify(fmt.Errorf("create database %s: %w", db, err))
		}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, classify(err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, classify(err)
	}
	return &native{conn: conn, db: db}, nil
}

func (n *native) name() string { return "server" }

func (n *native) exec(ctx context.Context, stmt string) error {
	return classify(n.conn.Exec(ctx, stmt))
}

func (n *native) insert(ctx context.Context, table string, cols []string, rows [][]any) error {
	b, err := n.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+")")
	if err != nil {
		return classify(err)
	}
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			_ = b.Abort()
			return classify(err)
		}
	}
	return classify(b.Send())
}

func (n *native) query(ctx context.Context, q string) (*Result, error) {
	rows, err := n.conn.Query(ctx, q)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	res := &Result{Columns: rows.Columns()}
	for _, t := range types {
		res.Types = append(res.Types, t.DatabaseTypeName())
	}
	for rows.Next() {
		dst := make([]any, len(types))
		for i, t := range types {
			dst[i] = reflect.New(t.ScanType()).Interface()
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, classify(err)
		}
		row := make([]any, len(dst))
		for i, d := range dst {
			row[i] = normalize(reflect.ValueOf(d).Elem().Interface())
		}
		res.Rows = append(res.Rows, row)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return res, nil
}

// queryLimited sends the settings with the query (the protocol's settings
// block): 18.16 ignores result limits in a SETTINGS clause and refuses the
// clause after SHOW and DESCRIBE. clickhouse-go replaces max_execution_time
// with the context's deadline plus 5 s, so the query runs under a context
// that is canceled with ctx but shows no deadline.
func (n *native) queryLimited(ctx context.Context, q string, settings []setting) (*Result, error) {
	s := ch.Settings{}
	for _, kv := range settings {
		s[kv.name] = kv.value
	}
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	return n.query(ch.Context(qctx, ch.WithSettings(s)), q)
}

func (n *native) close() error { return n.conn.Close() }

// normalize maps a scanned value onto Result's small set of types.
func normalize(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case uint64:
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	case float32:
		return float64(x)
	case float64:
		return x
	case string:
		return x
	case bool:
		return x
	case time.Time:
		return x.UTC()
	case decimal.Decimal:
		return x
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface())
	}
	return fmt.Sprint(v)
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}
