package gateway

import (
	"net"
	"sync"
	"time"
)

// The login throttle (docs/gateway.md, "Limits"). Failed logins are counted
// per source address and per user at that address. Once either has
// Limits.LoginFailures failures within Limits.LoginWindow, further attempts
// from there are refused without running SCRAM for a back-off window that
// starts at one second and doubles with each further failure, up to
// Limits.LoginMaxDelay. A user is deliberately not locked out everywhere:
// that would let anyone who knows a login name lock its owner out, so a
// correct login from another address still works.

// throttle counts failed logins.
type throttle struct {
	mu   sync.Mutex
	lim  Limits
	keys map[string]*failures
	now  func() time.Time
}

type failures struct {
	n      int       // failures since the key was last quiet for a window
	last   time.Time // the last failure
	until  time.Time // refused until then
	streak int       // failures past the threshold, for the doubling
}

func newThrottle(lim Limits) *throttle {
	return &throttle{lim: lim, keys: map[string]*failures{}, now: time.Now}
}

// sourceHost is the address a login is counted under: the IP without the port.
func sourceHost(a net.Addr) string {
	if a == nil {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

func throttleKeys(user, host string) [2]string {
	return [2]string{"addr\x00" + host, "user\x00" + user + "\x00" + host}
}

// blocked returns how long attempts of user from host are still refused (0: allowed).
func (t *throttle) blocked(user, host string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range throttleKeys(user, host) {
		if f := t.keys[k]; f != nil && f.until.After(now) {
			wait = max(wait, f.until.Sub(now))
		}
	}
	return wait
}

// failed counts a failed login and reports whether it started or extended a throttle.
func (t *throttle) failed(user, host string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.sweep(now)
	throttled := false
	for _, k := range throttleKeys(user, host) {
		f := t.keys[k]
		if f == nil || now.Sub(f.last) > t.lim.LoginWindow && !f.until.After(now) {
			f = &failures{}
			t.keys[k] = f
		}
		f.n++
		f.last = now
		if f.n >= t.lim.LoginFailures {
			delay := time.Second << min(f.streak, 30)
			f.until = now.Add(min(delay, t.lim.LoginMaxDelay))
			f.streak++
			throttled = true
		}
	}
	return throttled
}

// succeeded forgets the user's failures at host (not the address's: one
// valid login must not reset the count of guesses at others).
func (t *throttle) succeeded(user, host string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.keys, throttleKeys(user, host)[1])
}

// sweep drops entries that neither count nor refuse any more, so that the
// map stays bounded by the addresses seen within a window.
func (t *throttle) sweep(now time.Time) {
	if len(t.keys) < 4096 {
		return
	}
	for k, f := range t.keys {
		if now.Sub(f.last) > t.lim.LoginWindow && !f.until.After(now) {
			delete(t.keys, k)
		}
	}
}

// errThrottled is the FATAL error for a login refused by the throttle. It
// does not say whether the user exists.
func errThrottled(wait time.Duration) *pgError {
	secs := int(wait/time.Second) + 1
	e := fatal(codeInvalidAuth, "too many failed logins from this address: try again in %d s", secs)
	e.Hint = "gateway.limits.login_failures failed logins within gateway.limits.login_window start a back-off that doubles up to gateway.limits.login_max_delay"
	return e
}

// recordLogin hands a refused login to the recorder, naming the user only
// when it is a configured one.
func (s *Server) recordLogin(user string, known bool, host string, outcome LoginOutcome, reason string) {
	if !known {
		user = "(unknown)"
	}
	s.logins.RecordLogin(LoginRecord{At: time.Now(), User: user, Source: host, Outcome: outcome, Reason: reason})
}
