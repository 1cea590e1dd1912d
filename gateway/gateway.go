// Package gateway serves the warehouse over the PostgreSQL wire protocol,
// in the same process as ingest, so that Grafana, psql, DBeaver and BI
// tools read it with their PostgreSQL drivers. It owns authentication
// (SCRAM-SHA-256 against users from config), the roles and what each may
// read (Policy), the sandbox that keeps every role read-only and inside the
// warehouse (sandbox.go), the catalog compatibility layer those tools need
// (catalog.go), the translations of parameters, column names and result
// forms PostgreSQL clients expect (params.go, rows.go; COPY (SELECT ...)
// TO STDOUT in copy.go and SQL cursors in sqlcursor.go, whose queries go
// through the same sandbox), TLS (tls.go for a self-signed pair), limits (statement timeout, result size, connections,
// cancel requests, message and query sizes, the login throttle, concurrent
// queries and their memory share: limits.go, throttle.go, memwatch.go) and
// the query audit (Auditor).
//
// Queries run on DuckDB through the warehouse's *sql.DB, one DuckDB
// connection per session. Each statement reads one consistent snapshot:
// DuckDB's MVCC lets it run while ingest appends and the models are
// rebuilt in their own transactions, without blocking them or failing.
//
// The protocol side is github.com/jackc/pgx/v5/pgproto3 (messages only):
// the gateway implements the session state machine itself, for SCRAM,
// parameter types DuckDB infers, portals and cancel requests (see
// docs/gateway.md for why not psql-wire).
package gateway

import (
	"container/list"
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/warehouse"
)

// pgVersion is the PostgreSQL release whose protocol and catalog dialect
// the gateway emulates; pgVersionNum is its server_version_num.
const (
	pgVersion    = "15.0"
	pgVersionNum = "150000"
)

// serverVersion is server_version: the emulated PostgreSQL release, then
// what actually answers, "15.0 (cxlake v1.2.3, DuckDB v1.5.6)". version()
// answers it prefixed by "PostgreSQL " the way PostgreSQL does, so that
// clients that parse it (SQLAlchemy, pgjdbc) find a release number, and a
// reader sees it is not PostgreSQL. It is the same for every session of
// the process: the binary and the DuckDB library it links.
var serverVersion = sync.OnceValue(func() string {
	cx := strings.Trim(warehouse.BinaryVersion(), "()")
	dv := "unknown"
	if conn, err := duckdb.NewConnector("", nil); err == nil {
		db := sql.OpenDB(conn)
		var v string
		if db.QueryRow("select library_version from pragma_version()").Scan(&v) == nil && v != "" {
			dv = v
		}
		_ = db.Close()
	}
	return fmt.Sprintf("%s (cxlake %s, DuckDB %s)", pgVersion, cx, dv)
})

// Server is a running gateway.
type Server struct {
	cfg    Config
	db     *sql.DB
	policy *Policy
	audit  Auditor
	owned  *TableAuditor // the default auditor, closed by Shutdown
	logins LoginRecorder
	ownedL *TableLoginRecorder // the default login recorder, closed by Shutdown
	thr    *throttle
	log    *slog.Logger
	users  map[string]credential
	tls    *tls.Config
	secret []byte // keys the mock salts of unknown users

	dbName  string          // DuckDB's name of the warehouse database
	funcs   map[string]bool // DuckDB's own function names, for the sandbox
	types   map[string]bool // DuckDB's type names, lower case, for the sandbox
	pgFuncs map[string]bool // functions DuckDB has in pg_catalog
	plans   *planCache
	names   auditNames // names the audit keeps in clear (mask.go)

	ctx    context.Context
	cancel context.CancelCauseFunc

	mu       sync.Mutex
	ln       net.Listener
	sessions map[uint32]*session
	nextPID  uint32
	// Connections not logged in yet, oldest first (limits.go, admit).
	unauth      *list.List
	evicted     int64
	evictLogged time.Time
	wg          sync.WaitGroup

	// Gateway statements' places and the memory watchdog (memwatch.go).
	slots     chan struct{}
	runMu     sync.Mutex
	running   map[*runningQuery]struct{}
	memWake   chan struct{}
	memLimit  int64 // DuckDB's memory_limit at start, 0 if unknown
	tempLimit int64 // DuckDB's max_temp_directory_size at start, 0 if unknown
}

type credential struct {
	role Role
	v    verifier
}

// Options are the parts a Server is wired with.
type Options struct {
	// Policy says what each role reads; nil means DefaultPolicy().
	Policy *Policy
	// Auditor records every query; nil means a TableAuditor on the
	// warehouse, which the Server closes on Shutdown.
	Auditor Auditor
	// Log receives operational messages (never query text or values).
	Log *slog.Logger
	// Logins records failed and throttled logins; nil means a
	// TableLoginRecorder on the warehouse, which the Server closes on Shutdown.
	Logins LoginRecorder
}

// New validates cfg and prepares a server over db (the warehouse's
// connection pool). It does not listen yet: see Start and Serve.
func New(ctx context.Context, db *sql.DB, cfg Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, db: db, policy: opts.Policy, audit: opts.Auditor, log: opts.Log, logins: opts.Logins, thr: newThrottle(cfg.Limits),
		users: map[string]credential{}, sessions: map[uint32]*session{}, plans: newPlanCache(2048), unauth: list.New(),
		slots: make(chan struct{}, cfg.Limits.MaxConcurrentQueries), running: map[*runningQuery]struct{}{}, memWake: make(chan struct{}, 1)}
	if s.policy == nil {
		s.policy = DefaultPolicy()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.secret = make([]byte, 36)
	if _, err := rand.Read(s.secret); err != nil {
		return nil, err
	}
	// Session ids start at a random point, so that those of two gateways
	// over the same warehouse (one after a restart) rarely meet in the audit.
	s.nextPID = binary.BigEndian.Uint32(s.secret[32:]) >> 2
	for _, u := range cfg.Users {
		var v verifier
		var err error
		if u.SCRAM != "" {
			v, err = parseVerifier(u.SCRAM)
		} else {
			salt := make([]byte, 16)
			if _, err := rand.Read(salt); err != nil {
				return nil, err
			}
			v, err = deriveVerifier(u.Password, salt, scramIterations)
		}
		if err != nil {
			return nil, fmt.Errorf("gateway user %s: %w", u.Name, err)
		}
		s.users[u.Name] = credential{role: u.Role, v: v}
	}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("gateway.tls: loading the certificate and key: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if err := s.loadCatalog(ctx); err != nil {
		return nil, err
	}
	if s.audit == nil {
		a, err := NewTableAuditor(ctx, db, s.log)
		if err != nil {
			return nil, err
		}
		s.audit, s.owned = a, a
	}
	if s.logins == nil {
		r, err := NewTableLoginRecorder(ctx, db, s.log)
		if err != nil {
			if s.owned != nil {
				_ = s.owned.Close()
			}
			return nil, err
		}
		s.logins, s.ownedL = r, r
	}
	s.ctx, s.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	s.memLimit = s.readSizeSetting(ctx, "memory_limit", "gateway.limits.memory_share")
	s.tempLimit = s.readSizeSetting(ctx, "max_temp_directory_size", "gateway.limits.temp_share")
	if s.memLimit > 0 || s.tempLimit > 0 {
		go s.watchMemory()
	}
	return s, nil
}

// loadCatalog reads the database name and DuckDB's function names once.
func (s *Server) loadCatalog(ctx context.Context) error {
	if err := s.db.QueryRowContext(ctx, "select current_database()").Scan(&s.dbName); err != nil {
		return fmt.Errorf("gateway: reading the database name: %w", err)
	}
	if err := s.loadFunctions(ctx); err != nil {
		return err
	}
	trows, err := s.db.QueryContext(ctx, "select distinct lower(type_name) from duckdb_types()")
	if err != nil {
		return fmt.Errorf("gateway: listing DuckDB's types: %w", err)
	}
	defer trows.Close()
	s.types = map[string]bool{}
	for trows.Next() {
		var name string
		if err := trows.Scan(&name); err != nil {
			return err
		}
		s.types[name] = true
	}
	return trows.Err()
}

// loadFunctions lists DuckDB's own functions: those of a fresh in-memory
// DuckDB, which has none the application registered. (The warehouse's
// unsealing functions are listed by the warehouse's duckdb_functions() as
// internal, like DuckDB's own, so that list cannot tell them apart.) A
// function the application registers is callable only by the roles the
// Policy grants it to.
func (s *Server) loadFunctions(ctx context.Context) error {
	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		return fmt.Errorf("gateway: opening DuckDB to list its own functions: %w", err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	rows, err := db.QueryContext(ctx, `select distinct function_name, schema_name = 'pg_catalog'
		from duckdb_functions() where function_type in ('scalar', 'aggregate', 'macro')`)
	if err != nil {
		return fmt.Errorf("gateway: listing DuckDB's functions: %w", err)
	}
	defer rows.Close()
	s.funcs, s.pgFuncs = map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var name string
		var pg bool
		if err := rows.Scan(&name, &pg); err != nil {
			return err
		}
		s.funcs[name] = true
		if pg {
			s.pgFuncs[name] = true
		}
	}
	return rows.Err()
}

// mainRelations lists the tables and views of schema main (for roles that
// read everything, so that only existing relations resolve).
func (s *Server) mainRelations(conn *sql.Conn) map[string]bool {
	out := map[string]bool{}
	rows, err := conn.QueryContext(context.Background(), `
		select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main' and not temporary and not internal
		union all
		select view_name from duckdb_views() where database_name = current_database() and schema_name = 'main' and not temporary and not internal`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			out[n] = true
		}
	}
	return out
}

// Start listens on Config.Addr and serves in the background until Shutdown.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("SQL gateway: listening on %s (set gateway.addr or --pg-addr to a free host:port): %w", s.cfg.Addr, err)
	}
	if err := s.setListener(ln); err != nil {
		return err
	}
	go func() {
		if err := s.serve(ln); err != nil {
			s.log.Error("SQL gateway stopped accepting connections", "err", err)
		}
	}()
	return nil
}

// Serve accepts connections on ln until Shutdown. It returns nil after
// Shutdown, or the error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.setListener(ln); err != nil {
		return err
	}
	return s.serve(ln)
}

func (s *Server) setListener(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		ln.Close()
		return errors.New("SQL gateway is shut down")
	}
	s.ln = ln
	return nil
}

// serve accepts until Shutdown or until ln is closed. Any other Accept
// error (EMFILE, ENFILE, ECONNABORTED, a timeout) is waited out, as
// net/http's Server.Serve does: 5 ms, doubling to 1 s, logged at most once
// a second, and the listener keeps going.
func (s *Server) serve(ln net.Listener) error {
	var delay time.Duration
	var logged time.Time
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			if now := time.Now(); now.Sub(logged) >= time.Second {
				logged = now
				s.log.Warn("SQL gateway: accepting a connection failed; retrying", "err", err, "retry_in", delay)
			}
			select {
			case <-time.After(delay):
			case <-s.ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(nc)
		}()
	}
}

// Addr is the address the server listens on ("" before Start or Serve).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections, cancels running queries, closes
// every session (clients get "terminating connection" with SQLSTATE 57P01),
// waits for them up to ctx's deadline, and flushes the default auditor.
func (s *Server) Shutdown(ctx context.Context) error {
	// Cancel first: serve then reads the listener's closing as the
	// shutdown it is, not as a failure.
	s.cancel(errShutdown)
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("SQL gateway: sessions still closing at shutdown: %w", ctx.Err())
	}
	if s.owned != nil {
		if aerr := s.owned.Close(); err == nil {
			err = aerr
		}
	}
	if s.ownedL != nil {
		if lerr := s.ownedL.Close(); err == nil {
			err = lerr
		}
	}
	return err
}

// Sessions returns the number of open sessions.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Auditor returns the auditor queries are recorded with.
func (s *Server) Auditor() Auditor { return s.audit }

// register adds a session under a fresh process id, unless the server is
// full. It returns false when MaxConnections sessions are open.
func (s *Server) register(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.sessions) >= s.cfg.MaxConnections {
		return false
	}
	for {
		s.nextPID++
		if s.nextPID == 0 {
			continue
		}
		if _, used := s.sessions[s.nextPID]; !used {
			break
		}
	}
	sess.pid = s.nextPID
	s.sessions[sess.pid] = sess
	return true
}

func (s *Server) unregister(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.pid] == sess {
		delete(s.sessions, sess.pid)
	}
}

// cancelRequest cancels the running query of session pid when the secret
// matches. Unknown sessions and wrong secrets are ignored, as in PostgreSQL.
func (s *Server) cancelRequest(pid uint32, secret []byte) {
	s.mu.Lock()
	sess := s.sessions[pid]
	s.mu.Unlock()
	if sess != nil && sess.secretMatches(secret) {
		sess.cancelRunning(errCanceledByClient)
	}
}

// planCache keeps checked plans by role and query text, so that the
// dashboards' repeated queries skip the parse and check.
type planCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[planKey]*list.Element
}

type planKey struct {
	role  Role
	query string
}

type planEntry struct {
	key planKey
	p   *plan
}

func newPlanCache(max int) *planCache {
	return &planCache{max: max, ll: list.New(), items: map[planKey]*list.Element{}}
}

func (c *planCache) get(role Role, query string) *plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[planKey{role, query}]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*planEntry).p
	}
	return nil
}

func (c *planCache) put(role Role, query string, p *plan) {
	if len(query) > 64<<10 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	k := planKey{role, query}
	if e, ok := c.items[k]; ok {
		e.Value.(*planEntry).p = p
		c.ll.MoveToFront(e)
		return
	}
	c.items[k] = c.ll.PushFront(&planEntry{key: k, p: p})
	for c.ll.Len() > c.max {
		e := c.ll.Back()
		c.ll.Remove(e)
		delete(c.items, e.Value.(*planEntry).key)
	}
}
