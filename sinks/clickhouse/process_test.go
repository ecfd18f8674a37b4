package clickhouse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHelperProcess is not a test: the tests below run the test binary
// again as a second process that opens a store (chDB is one per process).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("TAJO_CH_HELPER")
	if mode == "" {
		t.Skip("helper for other tests")
	}
	db, err := Open(context.Background(), os.Getenv("TAJO_CH_DSN"), os.Getenv("TAJO_CH_DATA"))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(0)
	}
	fmt.Println("ready")
	if mode == "hold" {
		// Hold the store until the parent closes stdin.
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	}
	db.Close()
	os.Exit(0)
}

func helper(t *testing.T, mode, dsn, dataDir string, env ...string) (*exec.Cmd, *bufio.Reader, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), append([]string{"TAJO_CH_HELPER=" + mode, "TAJO_CH_DSN=" + dsn, "TAJO_CH_DATA=" + dataDir}, env...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, bufio.NewReader(stdout), func() { stdin.Close(); cmd.Wait() }
}

func TestChdbLockedByAnotherProcess(t *testing.T) {
	h := chdbHarness(t)
	dsn, dataDir := h.fresh(t)
	_, out, release := helper(t, "hold", dsn, dataDir)
	line, err := out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		release()
		t.Fatalf("helper: %q %v", line, err)
	}
	_, err = Open(context.Background(), dsn, dataDir)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "control API") {
		t.Errorf("open while another process holds the directory: %v", err)
	}
	release()
	// Once the other process is gone the directory opens, history intact.
	deadline := time.Now().Add(10 * time.Second)
	for {
		db, err := Open(context.Background(), dsn, dataDir)
		if err == nil {
			db.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reopen after the other process exited: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A process that holds the directory for a moment (a CLI command reading
// it while no run does) is waited out: a start that races it opens.
func TestChdbOpenWaitsOutABriefHolder(t *testing.T) {
	h := chdbHarness(t)
	dsn, dataDir := h.fresh(t)
	_, out, release := helper(t, "hold", dsn, dataDir)
	if line, err := out.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		release()
		t.Fatalf("helper: %q %v", line, err)
	}
	go func() { time.Sleep(300 * time.Millisecond); release() }()
	db, err := Open(context.Background(), dsn, dataDir)
	if err != nil {
		t.Fatalf("open while another process held the directory for 300 ms: %v", err)
	}
	db.Close()
}

func TestChdbMissingLibrary(t *testing.T) {
	_, out, release := helper(t, "open", "chdb://x", t.TempDir(), "CHDB_LIB_PATH=/nonexistent/libchdb.so")
	defer release()
	line, _ := out.ReadString('\n')
	for _, want := range []string{"libchdb.so not found at /nonexistent/libchdb.so", "scripts/chdb-lib.sh", "@chdb/lib-linux-x64-gnu", "clickhouse://"} {
		if !strings.Contains(line, want) {
			t.Errorf("missing-library message lacks %q:\n%s", want, line)
		}
	}
}

func TestChdbOneDirectoryPerProcess(t *testing.T) {
	h := chdbHarness(t)
	a, _, _ := h.open(t, nil)
	// The same directory again (here by its absolute path) shares the
	// session.
	b, err := Open(context.Background(), "chdb://"+sessions.cur.dir, "")
	if err != nil {
		t.Fatalf("second DB on the same directory: %v", err)
	}
	if _, err := b.Query(context.Background(), "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// The first still works after the second closed.
	if _, err := a.Query(context.Background(), "SELECT count() FROM sync_history"); err != nil {
		t.Fatalf("first DB after the second closed: %v", err)
	}
	_, err = Open(context.Background(), "chdb://"+t.TempDir(), "")
	if err == nil || !strings.Contains(err.Error(), "one directory per process") {
		t.Fatalf("a second directory in one process: %v", err)
	}
}
