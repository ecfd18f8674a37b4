package clickhouse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The chDB C API (chdb.h, "new API") bound lazily with purego.
//
// chdb-go's chdb-purego package binds the same functions, but in an init()
// that panics when libchdb.so cannot be loaded, so importing it would crash
// every tajo command (validate, a server-backed run) on a machine without the
// library. Loading on first use lets a missing library become an error that
// says how to get it.

// LibraryHelp tells a user how to get libchdb.so.
const LibraryHelp = "the embedded ClickHouse (chdb:// DSN) needs libchdb.so: run " +
	"`export CHDB_LIB_PATH=$(scripts/chdb-lib.sh)` in the tajo checkout (it fetches the npm package " +
	"@chdb/lib-linux-x64-gnu with `npm pack` into .cache/chdb), or point " +
	"sinks.clickhouse.dsn at a ClickHouse server (clickhouse://user:pass@host:9000/db)"

// ErrNoLibrary is returned (wrapped) when libchdb.so cannot be loaded.
var ErrNoLibrary = errors.New("libchdb.so not found")

type libchdb struct {
	connect, closeConn, query, destroy uintptr
	buffer, length, errorMsg           uintptr
}

var (
	libOnce sync.Once
	lib     *libchdb
	libErr  error
)

// LibraryPath is where Open looks for libchdb.so: $CHDB_LIB_PATH, else
// what scripts/chdb-lib.sh fetched into .cache/chdb (under the working
// directory or beside the binary's bin/ directory, so `./bin/tajo run` from
// a checkout finds it), else the usual install locations.
func LibraryPath() string {
	if p := os.Getenv("CHDB_LIB_PATH"); p != "" {
		return p
	}
	roots := []string{"."}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Join(filepath.Dir(exe), ".."))
	}
	for _, root := range roots {
		for _, pat := range []string{"libchdb.so", "libchdb.dylib"} {
			m, _ := filepath.Glob(filepath.Join(root, ".cache", "chdb", "*", pat))
			if len(m) > 0 {
				sort.Strings(m)
				if abs, err := filepath.Abs(m[len(m)-1]); err == nil {
					return abs
				}
			}
		}
	}
	for _, p := range []string{"/usr/local/lib/libchdb.so", "/usr/lib/libchdb.so", "/opt/homebrew/lib/libchdb.dylib"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func loadLibchdb() (*libchdb, error) {
	libOnce.Do(func() {
		path := LibraryPath()
		if path == "" {
			libErr = fmt.Errorf("%w (CHDB_LIB_PATH is not set and .cache/chdb is empty): %s", ErrNoLibrary, LibraryHelp)
			return
		}
		if _, err := os.Stat(path); err != nil {
			libErr = fmt.Errorf("%w at %s: %s", ErrNoLibrary, path, LibraryHelp)
			return
		}
		h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			libErr = fmt.Errorf("load %s: %v: %s", path, err, LibraryHelp)
			return
		}
		l := &libchdb{}
		for _, s := range []struct {
			p    *uintptr
			name string
		}{
			{&l.connect, "chdb_connect"}, {&l.closeConn, "chdb_close_conn"},
			{&l.query, "chdb_query"}, {&l.destroy, "chdb_destroy_query_result"},
			{&l.buffer, "chdb_result_buffer"}, {&l.length, "chdb_result_length"},
			{&l.errorMsg, "chdb_result_error"},
		} {
			if *s.p, err = purego.Dlsym(h, s.name); err != nil {
				libErr = fmt.Errorf("%s is not a usable chDB library (missing %s); chDB 3.x or later is needed: %s", path, s.name, LibraryHelp)
				return
			}
		}
		lib = l
	})
	return lib, libErr
}

// cstring returns s as a NUL-terminated byte slice; the caller keeps it
// alive across the call.
func cstring(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}

// cptr turns an address the C library returned into a pointer. The memory is
// C's, so the Go rules that vet checks uintptr conversions for do not apply.
func cptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

func gostring(p uintptr) string {
	if p == 0 {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(cptr(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice((*byte)(cptr(p)), n))
}

// chdbConn is one chDB session: chdb_connect's chdb_connection*.
type chdbConn struct {
	l  *libchdb
	pp uintptr
}

func chdbConnect(l *libchdb, args []string) (*chdbConn, error) {
	bufs := make([][]byte, len(args))
	argv := make([]uintptr, len(args))
	for i, a := range args {
		bufs[i] = cstring(a)
		argv[i] = uintptr(unsafe.Pointer(&bufs[i][0]))
	}
	pp, _, _ := purego.SyscallN(l.connect, uintptr(len(args)), uintptr(unsafe.Pointer(&argv[0])))
	runtime.KeepAlive(bufs)
	runtime.KeepAlive(argv)
	if pp == 0 {
		return nil, errors.New("chdb_connect failed")
	}
	return &chdbConn{l: l, pp: pp}, nil
}

// query runs one statement and returns its output in format. chDB answers
// one query at a time per session; callers serialize.
func (c *chdbConn) query(q, format string) ([]byte, error) {
	qb, fb := cstring(q), cstring(format)
	conn := *(*uintptr)(cptr(c.pp))
	res, _, _ := purego.SyscallN(c.l.query, conn, uintptr(unsafe.Pointer(&qb[0])), uintptr(unsafe.Pointer(&fb[0])))
	runtime.KeepAlive(qb)
	runtime.KeepAlive(fb)
	if res == 0 {
		return nil, nil
	}
	defer purego.SyscallN(c.l.destroy, res)
	if e, _, _ := purego.SyscallN(c.l.errorMsg, res); e != 0 {
		if msg := gostring(e); msg != "" {
			return nil, errors.New(msg)
		}
	}
	buf, _, _ := purego.SyscallN(c.l.buffer, res)
	n, _, _ := purego.SyscallN(c.l.length, res)
	if buf == 0 || n == 0 {
		return nil, nil
	}
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(cptr(buf)), n))
	return out, nil
}

func (c *chdbConn) close() {
	if c.pp != 0 {
		purego.SyscallN(c.l.closeConn, c.pp)
		c.pp = 0
	}
}

// CheckLibrary loads libchdb.so if it is not loaded yet and reports why it
// cannot be, with the steps to get it; nil means chdb:// DSNs can open.
func CheckLibrary() error {
	_, err := loadLibchdb()
	return err
}
