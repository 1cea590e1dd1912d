// Package ratelog keeps repeated log lines from flooding the log: a Limiter
// lets through one line per key per interval, and the next line let through
// for that key says how many were suppressed in between. Keys are chosen by
// the caller (a source address and a reason, say); they are never logged
// unless the caller logs them.
package ratelog

import (
	"sync"
	"time"
)

// maxKeys bounds the memory a Limiter holds. When it is full, keys whose
// interval has passed are dropped; if none has, every further key shares
// one overflow entry, so an attacker who varies the key gains nothing.
const maxKeys = 10000

// overflow is the key used once maxKeys keys are live.
const overflow = "\x00overflow"

// Limiter decides which lines to log. The zero value is not usable; call New.
type Limiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	keys  map[string]*entry
	swept time.Time // last sweep: at most one per interval, so a flood of new keys costs O(1) each
}

type entry struct {
	last       time.Time
	suppressed int64
}

// New returns a Limiter letting one line per key through every interval.
func New(every time.Duration) *Limiter {
	return &Limiter{every: every, now: time.Now, keys: map[string]*entry{}}
}

// Allow reports whether a line for key should be logged now and, if so,
// how many lines for it were suppressed since the last one logged.
func (l *Limiter) Allow(key string) (ok bool, suppressed int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e := l.keys[key]
	if e == nil {
		if len(l.keys) >= maxKeys && now.Sub(l.swept) >= l.every {
			l.sweep(now)
		}
		if len(l.keys) >= maxKeys {
			key = overflow
			e = l.keys[key]
		}
		if e == nil {
			l.keys[key] = &entry{last: now}
			return true, 0
		}
	}
	if now.Sub(e.last) < l.every {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return true, n
}

// sweep drops the keys whose interval has passed with nothing suppressed
// (their next line would be logged anyway, with a count of zero).
func (l *Limiter) sweep(now time.Time) {
	l.swept = now
	for k, e := range l.keys {
		if now.Sub(e.last) >= l.every && e.suppressed == 0 {
			delete(l.keys, k)
		}
	}
}
