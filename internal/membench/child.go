// Package membench measures cxlake's commands against the process memory
// budget (docs/memory.md): each command runs as a child process, so its peak
// resident memory is the child's own (getrusage's ru_maxrss), not the
// benchmark's. Measure runs the commands (load, refresh, a lake
// reader, erasure, demo --once) several times and reports medians; Soak runs
// a live demo under gateway clients sending the dashboards' queries and
// watches RSS, ingest, and the lake's and the audit mirror's lag.
package membench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"
)

// Binary is how a cxlake process is started: the executable and extra
// environment (a test re-runs its own binary as cxlake).
type Binary struct {
	Path string
	Env  []string
}

// Sample is one finished child: its peak RSS and how long it ran.
type Sample struct {
	PeakRSS int64 // bytes
	Wall    time.Duration
}

// tail keeps the last n bytes written to it: a failed child's last words.
type tail struct {
	n   int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = t.buf[len(t.buf)-t.n:]
	}
	return len(p), nil
}

func (t *tail) String() string { return string(bytes.TrimSpace(t.buf)) }

// command returns the child process for args, with stdout to out (nil:
// discarded) and the binary's environment.
func (b Binary) command(ctx context.Context, args []string, out io.Writer) *exec.Cmd {
	cmd := exec.CommandContext(ctx, b.Path, args...)
	cmd.Env = append(os.Environ(), b.Env...)
	cmd.Stdout = out
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) } // cxlake stops cleanly on SIGINT
	cmd.WaitDelay = 2 * time.Minute
	return cmd
}

// Run runs cxlake with args to the end and returns its peak RSS and wall
// time. A non-zero exit is an error that quotes the end of its stderr
// (cxlake's errors name fields and settings, never personal data).
func (b Binary) Run(ctx context.Context, args []string, out io.Writer) (Sample, error) {
	cmd := b.command(ctx, args, out)
	errTail := &tail{n: 2048}
	cmd.Stderr = errTail
	start := time.Now()
	err := cmd.Run()
	s := Sample{Wall: time.Since(start), PeakRSS: maxRSS(cmd.ProcessState)}
	if err != nil {
		return s, fmt.Errorf("cxlake %s: %w: %s", args[0], err, errTail)
	}
	return s, nil
}

// maxRSS is the finished process's peak resident set (ru_maxrss, KiB on
// Linux), in bytes; 0 where the platform does not say.
func maxRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return int64(ru.Maxrss) * 1024
	}
	return 0
}

// errNoProc is returned where /proc cannot be read (not Linux).
var errNoProc = errors.New("no /proc/PID/status on this system")

// currentRSS is a running process's resident set (VmRSS) in bytes.
func currentRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errNoProc, err)
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		var kb int64
		if n, _ := fmt.Sscanf(string(line), "VmRSS: %d kB", &kb); n == 1 {
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%w: no VmRSS line", errNoProc)
}

// median of xs (the lower middle for an even count); 0 for none.
func median[T int64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
