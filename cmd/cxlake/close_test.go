package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cxlake/cxlake/warehouse"
)

// TestFailedCloseIsReported: when the last checkpoint cannot be written
// (a full disk), the command's error says so instead of exiting 0 with a
// WAL left behind (issue 27 item 7). The disk fills for real: a child
// process caps its own file size (RLIMIT_FSIZE) at what the files hold
// after a write, so the checkpoint at close must fail with EFBIG.
func TestFailedCloseIsReported(t *testing.T) {
	if dir := os.Getenv("CXLAKE_CLOSE_CHILD"); dir != "" {
		closeChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFailedCloseIsReported$")
	cmd.Env = append(os.Environ(), "CXLAKE_CLOSE_CHILD="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	s := string(out)
	if !strings.Contains(s, "WROTE") {
		t.Fatalf("the child did not get to close:\n%s", s)
	}
	if !strings.Contains(s, "CLOSE-ERROR checkpointing warehouse") {
		t.Fatalf("a checkpoint that could not be written was not reported:\n%s", s)
	}
	// Nothing is lost: the WAL replays on the next open.
	wh, err := warehouse.Open(context.Background(), dir, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var n int
	if err := wh.DB.QueryRow(`select count(*) from filler`).Scan(&n); err != nil || n != 50_000 {
		t.Fatalf("after the failed close, filler has %d rows (%v), want 50000", n, err)
	}
}

func closeChild(dir string) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{})
	if err != nil {
		fmt.Println("OPEN", err)
		return
	}
	// Fewer rows than a row group: they go to the WAL, and only the
	// checkpoint writes them into cxlake.duckdb.
	if _, err := wh.DB.Exec(`create table filler as select range::varchar || repeat('x', 200) as v from range(50000)`); err != nil {
		fmt.Println("WRITE", err)
		return
	}
	st, err := os.Stat(filepath.Join(dir, warehouse.DBFile))
	if err != nil {
		fmt.Println("STAT", err)
		return
	}
	size := st.Size()
	signal.Ignore(syscall.SIGXFSZ) // EFBIG as an error, not a signal
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("RLIMIT", err)
		return
	}
	lim.Cur = uint64(size)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		fmt.Println("RLIMIT", err)
		return
	}
	fmt.Println("WROTE")
	var cerr error
	func() { defer closeAtEnd(wh, &cerr) }()
	if cerr != nil {
		fmt.Println("CLOSE-ERROR", cerr)
	} else {
		fmt.Println("CLOSE-OK")
	}
}
