package gateway

import (
	"container/list"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The gateway's own resource limits: what one hostile or heavy client may
// take of the process before it is refused (docs/gateway.md, "Limits").
// DuckDB's memory_limit and temporary space are the warehouse's settings;
// the gateway only takes a share of the former (MemoryShare).

// maxStartupBodyLen bounds every message before authentication: a
// start-up packet, a SASL initial response or final message is a few
// hundred bytes, so 16 KiB is generous and a client announcing more is
// refused before anything is buffered.
const maxStartupBodyLen = 16 << 10

// Defaults of Limits.
const (
	DefaultMaxMessageBytes    = 8 << 20
	DefaultMaxQueryBytes      = 1 << 20
	DefaultMaxStatements      = 64
	DefaultMaxUnauthenticated = 32
	DefaultAuthTimeout        = 10 * time.Second
	DefaultMemoryShare        = 0.4
	DefaultTempShare          = 0.5
	DefaultLoginFailures      = 5
	DefaultLoginWindow        = time.Minute
	DefaultLoginMaxDelay      = 5 * time.Minute
	DefaultMaxSleep           = time.Second
)

// DefaultMaxConcurrentQueries is max(2, GOMAXPROCS): DuckDB parallelizes
// each query itself, so more concurrent gateway queries only share the
// same cores and memory.
func DefaultMaxConcurrentQueries() int { return max(2, runtime.GOMAXPROCS(0)) }

// Limits bound what clients may take of the process (the config file's
// gateway.limits section). Zero values mean the defaults.
type Limits struct {
	// MaxMessageBytes bounds one protocol message after authentication (a
	// Query, a Parse, a Bind with its parameters). Before authentication
	// every message is bounded by 16 KiB. Larger ones end the connection
	// with a FATAL error, unread.
	MaxMessageBytes int
	// MaxQueryBytes bounds a query's text; longer ones are refused with
	// SQLSTATE 54000 before the sandbox parses them.
	MaxQueryBytes int
	// MaxStatements bounds the statements of one simple Query.
	MaxStatements int
	// MaxUnauthenticated bounds connections that have not logged in yet. When
	// one more arrives, the oldest of them is closed, so that a flood of
	// idle sockets cannot keep a real user out.
	MaxUnauthenticated int
	// AuthTimeout is how long a connection has from connect to logged in.
	AuthTimeout time.Duration
	// MaxConcurrentQueries bounds the gateway queries DuckDB runs at once;
	// more wait (with the client's cancel and the statement timeout).
	MaxConcurrentQueries int
	// MemoryShare is the fraction of DuckDB's memory_limit gateway queries
	// may hold together; above it the largest running one is canceled with
	// SQLSTATE 53200, so that ingest and the models keep theirs.
	MemoryShare float64
	// TempShare is the fraction of DuckDB's spill cap
	// (max_temp_directory_size, memory.max_temp_size) that may be in use
	// while gateway queries run; above it the longest-running one is
	// canceled with SQLSTATE 53100, so that one reader's sort cannot take
	// the spill space that ingest and the model refresh need.
	TempShare float64
	// LoginFailures failed logins within LoginWindow, per user or per
	// source address, start the login throttle; each further failure
	// doubles the wait, up to LoginMaxDelay.
	LoginFailures int
	LoginWindow   time.Duration
	LoginMaxDelay time.Duration
	// MaxSleep bounds the sleep functions (pg_sleep, sleep_ms), apart from
	// the statement timeout: a call must sleep a constant of at most
	// MaxSleep, else it is refused with SQLSTATE 54000; and a statement
	// that calls one is canceled (57014) once it has run twice MaxSleep,
	// however many rows call it. A sleep holds one of
	// MaxConcurrentQueries' places, so a statement timeout's worth of
	// sleeping would let a few clients keep everyone else waiting.
	MaxSleep time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxMessageBytes == 0 {
		l.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if l.MaxQueryBytes == 0 {
		l.MaxQueryBytes = min(DefaultMaxQueryBytes, l.MaxMessageBytes)
	}
	if l.MaxStatements == 0 {
		l.MaxStatements = DefaultMaxStatements
	}
	if l.MaxUnauthenticated == 0 {
		l.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if l.AuthTimeout == 0 {
		l.AuthTimeout = DefaultAuthTimeout
	}
	if l.MaxConcurrentQueries == 0 {
		l.MaxConcurrentQueries = DefaultMaxConcurrentQueries()
	}
	if l.MemoryShare == 0 {
		l.MemoryShare = DefaultMemoryShare
	}
	if l.TempShare == 0 {
		l.TempShare = DefaultTempShare
	}
	if l.LoginFailures == 0 {
		l.LoginFailures = DefaultLoginFailures
	}
	if l.LoginWindow == 0 {
		l.LoginWindow = DefaultLoginWindow
	}
	if l.LoginMaxDelay == 0 {
		l.LoginMaxDelay = DefaultLoginMaxDelay
	}
	if l.MaxSleep == 0 {
		l.MaxSleep = DefaultMaxSleep
	}
	return l
}

// validate names the first bad key under gateway.limits.
func (l Limits) validate() error {
	l = l.withDefaults()
	switch {
	case l.MaxMessageBytes < 64<<10 || l.MaxMessageBytes > 1<<30:
		return fmt.Errorf("gateway.limits.max_message_bytes is %d: use 65536 to 1073741824 (default %d)", l.MaxMessageBytes, DefaultMaxMessageBytes)
	case l.MaxQueryBytes < 1<<10 || l.MaxQueryBytes > l.MaxMessageBytes:
		return fmt.Errorf("gateway.limits.max_query_bytes is %d: use 1024 up to max_message_bytes (default %d)", l.MaxQueryBytes, DefaultMaxQueryBytes)
	case l.MaxStatements < 1 || l.MaxStatements > 10_000:
		return fmt.Errorf("gateway.limits.max_statements is %d: use 1 to 10000 (default %d)", l.MaxStatements, DefaultMaxStatements)
	case l.MaxUnauthenticated < 1 || l.MaxUnauthenticated > 10_000:
		return fmt.Errorf("gateway.limits.max_unauthenticated is %d: use 1 to 10000 (default %d)", l.MaxUnauthenticated, DefaultMaxUnauthenticated)
	case l.AuthTimeout < 100*time.Millisecond || l.AuthTimeout > 5*time.Minute:
		return fmt.Errorf("gateway.limits.auth_timeout is %s: use 100ms to 5m (default %s)", l.AuthTimeout, DefaultAuthTimeout)
	case l.MaxConcurrentQueries < 1 || l.MaxConcurrentQueries > 10_000:
		return fmt.Errorf("gateway.limits.max_concurrent_queries is %d: use 1 to 10000 (default max(2, GOMAXPROCS))", l.MaxConcurrentQueries)
	case l.MemoryShare < 0.01 || l.MemoryShare > 1:
		return fmt.Errorf("gateway.limits.memory_share is %g: use a fraction of DuckDB's memory_limit from 0.01 to 1 (default %g)", l.MemoryShare, DefaultMemoryShare)
	case l.TempShare < 0.01 || l.TempShare > 1:
		return fmt.Errorf("gateway.limits.temp_share is %g: use a fraction of memory.max_temp_size from 0.01 to 1 (default %g)", l.TempShare, DefaultTempShare)
	case l.LoginFailures < 1 || l.LoginFailures > 1000:
		return fmt.Errorf("gateway.limits.login_failures is %d: use 1 to 1000 (default %d)", l.LoginFailures, DefaultLoginFailures)
	case l.LoginWindow < time.Second || l.LoginWindow > 24*time.Hour:
		return fmt.Errorf("gateway.limits.login_window is %s: use 1s to 24h (default %s)", l.LoginWindow, DefaultLoginWindow)
	case l.LoginMaxDelay < time.Second || l.LoginMaxDelay > 24*time.Hour:
		return fmt.Errorf("gateway.limits.login_max_delay is %s: use 1s to 24h (default %s)", l.LoginMaxDelay, DefaultLoginMaxDelay)
	case l.MaxSleep < time.Millisecond || l.MaxSleep > time.Hour:
		return fmt.Errorf("gateway.limits.max_sleep is %s: use 1ms to 1h (default %s)", l.MaxSleep, DefaultMaxSleep)
	}
	return nil
}

// errMessageTooLarge is the FATAL error for a protocol message over the limit.
func errMessageTooLarge(limit int, authenticated bool) *pgError {
	if !authenticated {
		return fatal(codeProgramLimit, "message too large before authentication (over %d bytes)", limit)
	}
	return fatal(codeProgramLimit, "message too large: over %d bytes (gateway.limits.max_message_bytes)", limit)
}

// isMessageTooLarge reports whether err is pgproto3's refusal of a message
// announcing more than the backend's maximum body length.
func isMessageTooLarge(err error) bool {
	var e *pgproto3.ExceededMaxBodyLenErr
	return errors.As(err, &e)
}

// admit takes one of the places of connections not logged in yet. When
// they are all taken, the oldest connection is closed: a flood of sockets
// that never log in then costs each of them its place, not a real user.
func (s *Server) admit(nc net.Conn) *list.Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.unauth.Len() >= s.cfg.Limits.MaxUnauthenticated {
		old := s.unauth.Remove(s.unauth.Front()).(net.Conn)
		_ = old.Close()
		s.evicted++
		if now := time.Now(); now.Sub(s.evictLogged) >= time.Second {
			s.evictLogged = now
			s.log.Warn("SQL gateway: too many connections not logged in; closing the oldest",
				"max_unauthenticated", s.cfg.Limits.MaxUnauthenticated, "closed_so_far", s.evicted)
		}
	}
	return s.unauth.PushBack(nc)
}

// leave gives a place of admit back; a second call does nothing.
func (s *Server) leave(e *list.Element) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unauth.Remove(e)
}

// Unauthenticated returns the number of connections not logged in yet.
func (s *Server) Unauthenticated() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unauth.Len()
}

// checkQuerySize refuses a query text over Limits.MaxQueryBytes or with
// more than Limits.MaxStatements statements, before anything parses it.
func checkQuerySize(l Limits, q string) error {
	if len(q) > l.MaxQueryBytes {
		return errorf(codeProgramLimit, "the query text is %d bytes, over gateway.limits.max_query_bytes (%d)", len(q), l.MaxQueryBytes)
	}
	if strings.Count(q, ";") >= l.MaxStatements {
		if n := len(splitStatements(lex(q))); n > l.MaxStatements {
			return errorf(codeProgramLimit, "the query has %d statements, over gateway.limits.max_statements (%d): send them as separate queries", n, l.MaxStatements)
		}
	}
	return nil
}
