package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cxlake/cxlake/ingest"
)

// progress shows produced and ingested counts, rate and lag once a second:
// on one rewritten line on a terminal, as plain lines otherwise.
type progress struct {
	w        io.Writer
	total    int64
	stats    *ingest.Stats
	tty      bool
	sent     atomic.Int64
	start    time.Time
	last     time.Time
	lastSeen int64
	// health, when set, is the consumer's: the line says when ingest is
	// degraded or has stopped, instead of showing 0 msg/s.
	health func() ingest.Health
}

func newProgress(w io.Writer, total int64, stats *ingest.Stats) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	now := time.Now()
	return &progress{w: w, total: total, stats: stats, tty: tty, start: now, last: now}
}

func (p *progress) produced(n int) {
	p.sent.Store(int64(n))
	p.tick(false)
}

func (p *progress) tick(force bool) {
	now := time.Now()
	if !force && now.Sub(p.last) < time.Second {
		return
	}
	seen := p.stats.Messages.Load()
	rate := float64(seen-p.lastSeen) / now.Sub(p.last).Seconds()
	p.last, p.lastSeen = now, seen
	line := fmt.Sprintf("produced %d/%d · ingested %d (%.0f msg/s) · lag %d · dead letters %d",
		p.sent.Load(), p.total, seen, rate, p.sent.Load()-seen, p.stats.DeadLetters.Load())
	if p.health != nil {
		if h := p.health(); h.State != ingest.StateOK {
			line = fmt.Sprintf("produced %d/%d · ingested %d · INGEST %s: %s", p.sent.Load(), p.total, seen, strings.ToUpper(h.State), h.Reason)
		}
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// waitIngested returns once every produced message is durable in the
// warehouse, or with the reason when ingest has stopped.
func (p *progress) waitIngested(ctx context.Context) error { return p.waitConsumed(ctx, p.total) }

// waitConsumed waits until the consumer has read n messages, showing
// progress, and fails when ingest has stopped.
func (p *progress) waitConsumed(ctx context.Context, n int64) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for p.stats.Messages.Load() < n {
		if p.health != nil {
			if h := p.health(); h.State == ingest.StateStopped {
				p.tick(true)
				fmt.Fprintln(p.w)
				return errors.New(h.Reason)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			p.tick(false)
		}
	}
	return nil
}

func (p *progress) finish() {
	p.tick(true)
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
