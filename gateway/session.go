package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// session is one client connection, from start-up to close.
type session struct {
	srv    *Server
	nc     net.Conn
	be     *pgproto3.Backend
	log    *slog.Logger
	pid    uint32
	secret [4]byte
	isTLS  bool

	user   string
	role   Role
	params map[string]string
	conn   *sql.Conn // the session's own DuckDB connection
	chk    *checker
	types  *pgtype.Map

	stmts    map[string]*prepared
	portals  map[string]*portal
	txStatus byte // 'I' idle, 'T' in a transaction block, 'E' in a failed one
	skipping bool // extended protocol: an error occurred, skip until Sync
	ended    bool // the session must end (an audit failed outside a reply)

	runMu     sync.Mutex
	runCancel context.CancelCauseFunc // the running query's, for cancel requests
}

// openTimeout bounds getting and preparing a logged-in session's DuckDB connection.
const openTimeout = 30 * time.Second

// handle serves one connection until it closes. Until the client has
// logged in, the connection holds one of Limits.MaxUnauthenticated places
// (not a session slot), every message is bounded by maxStartupBodyLen and
// the whole exchange by Limits.AuthTimeout.
func (s *Server) handle(nc net.Conn) {
	defer nc.Close()
	place := s.admit(nc)
	defer s.leave(place)
	lim := s.cfg.Limits
	sess := &session{srv: s, nc: nc, be: pgproto3.NewBackend(nc, nc), log: s.log,
		stmts: map[string]*prepared{}, portals: map[string]*portal{}, txStatus: 'I', types: newTypeMap()}
	sess.be.SetMaxBodyLen(maxStartupBodyLen)
	// Shutdown wakes a session blocked on its client, whatever it is doing:
	// starting up, idle, or sending rows to a client that stopped reading.
	stopWatch := context.AfterFunc(s.ctx, func() {
		_ = nc.SetReadDeadline(time.Now())
		_ = nc.SetWriteDeadline(time.Now().Add(time.Second)) // time to say why, not to hang
	})
	defer stopWatch()
	_ = nc.SetDeadline(time.Now().Add(lim.AuthTimeout))
	startup, err := sess.startup()
	if err != nil || startup == nil {
		if isMessageTooLarge(err) {
			sess.sendFatal(errMessageTooLarge(maxStartupBodyLen, false))
		}
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			s.log.Debug("SQL gateway: connection ended during start-up", "remote", nc.RemoteAddr().String(), "err", err)
		}
		return
	}
	if _, err := rand.Read(sess.secret[:]); err != nil {
		return
	}
	if err := sess.login(startup); err != nil {
		return
	}
	s.leave(place)
	if !s.register(sess) {
		sess.sendFatal(fatal(codeTooManyConns, "sorry, too many clients already (gateway max_connections is %d)", s.cfg.MaxConnections))
		return
	}
	defer s.unregister(sess)
	sess.log = s.log.With("session", sess.pid, "user", sess.user, "role", sess.role)
	sess.be.SetMaxBodyLen(lim.MaxMessageBytes)
	_ = nc.SetDeadline(time.Time{})
	if s.ctx.Err() != nil {
		return
	}
	if err := sess.open(); err != nil {
		sess.sendFatal(toPG(nil, err))
		s.log.Error("SQL gateway: could not open a session", "user", sess.user, "err", err)
		return
	}
	defer sess.close()
	s.log.Debug("SQL gateway: session opened", "session", sess.pid, "user", sess.user, "role", sess.role, "tls", sess.isTLS)
	sess.loop()
	s.log.Debug("SQL gateway: session closed", "session", sess.pid, "user", sess.user)
}

// login authenticates the start-up's user and tells the client why when it
// fails. The error, if any, has been answered already.
func (sess *session) login(startup *pgproto3.StartupMessage) error {
	err := sess.authenticate(startup)
	if err == nil {
		return nil
	}
	var pe *pgError
	switch {
	case isMessageTooLarge(err):
		sess.sendFatal(errMessageTooLarge(maxStartupBodyLen, false))
		sess.srv.log.Info("SQL gateway: login refused: message too large", "remote", sess.nc.RemoteAddr().String())
	case errors.As(err, &pe):
		sess.sendFatal(pe)
		sess.srv.log.Info("SQL gateway: login refused", "remote", sess.nc.RemoteAddr().String(), "code", pe.Code)
	}
	return err
}

// startup reads the start-up packet, answering SSL and GSS requests and
// serving cancel requests. It returns nil, nil after a cancel request.
func (sess *session) startup() (*pgproto3.StartupMessage, error) {
	for {
		msg, err := sess.be.ReceiveStartupMessage()
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.CancelRequest:
			sess.srv.cancelRequest(m.ProcessID, m.SecretKey)
			return nil, nil
		case *pgproto3.SSLRequest:
			if sess.srv.tls == nil || sess.isTLS {
				if _, err := sess.nc.Write([]byte{'N'}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := sess.nc.Write([]byte{'S'}); err != nil {
				return nil, err
			}
			tc := tls.Server(sess.nc, sess.srv.tls)
			if err := tc.Handshake(); err != nil {
				return nil, fmt.Errorf("TLS handshake: %w", err)
			}
			sess.nc, sess.isTLS = tc, true
			sess.be = pgproto3.NewBackend(tc, tc)
			sess.be.SetMaxBodyLen(maxStartupBodyLen)
		case *pgproto3.GSSEncRequest:
			if _, err := sess.nc.Write([]byte{'N'}); err != nil {
				return nil, err
			}
		case *pgproto3.StartupMessage:
			return m, nil
		default:
			return nil, fmt.Errorf("unexpected start-up message %T", msg)
		}
	}
}

// authenticate runs SCRAM-SHA-256 for the start-up's user and checks the
// database name. Every failure of user or password reads the same.
func (sess *session) authenticate(startup *pgproto3.StartupMessage) error {
	user := startup.Parameters["user"]
	if user == "" {
		return fatal(codeInvalidAuth, "no user name given: connect with a user from the gateway's configuration")
	}
	cred, known := sess.srv.users[user]
	host := sourceHost(sess.nc.RemoteAddr())
	if wait := sess.srv.thr.blocked(user, host); wait > 0 {
		sess.srv.recordLogin(user, known, host, LoginThrottled, "throttle")
		return errThrottled(wait)
	}
	v := &cred.v
	if !known {
		v = mockVerifier(sess.srv.secret, user)
	}
	be := sess.be
	be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{scramMechanism}})
	if err := be.Flush(); err != nil {
		return err
	}
	_ = be.SetAuthType(pgproto3.AuthTypeSASL)
	msg, err := be.Receive()
	if err != nil {
		return err
	}
	first, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || first.AuthMechanism != scramMechanism {
		return fatal(codeProtocol, "expected a SCRAM-SHA-256 response: the gateway authenticates with SCRAM-SHA-256 only")
	}
	x := &scramExchange{v: v}
	serverFirst, err := x.first(first.Data)
	if err != nil {
		return fatal(codeProtocol, "%v", err)
	}
	be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := be.Flush(); err != nil {
		return err
	}
	_ = be.SetAuthType(pgproto3.AuthTypeSASLContinue)
	msg, err = be.Receive()
	if err != nil {
		return err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return fatal(codeProtocol, "expected the SCRAM client-final-message")
	}
	serverFinal, ok, err := x.final(resp.Data, known)
	if err != nil {
		return fatal(codeProtocol, "%v", err)
	}
	if !ok {
		if sess.srv.thr.failed(user, host) {
			sess.srv.log.Warn("SQL gateway: failed logins throttled", "source", host, "configured_user", known)
		}
		sess.srv.recordLogin(user, known, host, LoginFailed, "wrong password or unknown user")
		return errAuthFailed(user)
	}
	sess.srv.thr.succeeded(user, host)
	_ = be.SetAuthType(pgproto3.AuthTypeOk)
	if db := startup.Parameters["database"]; db != "" && db != DefaultDatabase && db != user {
		return fatal(codeNoDatabase, "database %q does not exist: connect to database %q", db, DefaultDatabase)
	}
	be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte(serverFinal)})
	be.Send(&pgproto3.AuthenticationOk{})
	sess.user, sess.role = user, cred.role
	sess.params = serverParams(user, startup.Parameters["application_name"])
	for k, v := range startup.Parameters {
		if k != "user" && k != "database" && settable[strings.ToLower(k)] {
			_ = setParam(sess.params, k, v)
		}
	}
	return nil
}

// open gets the session's DuckDB connection, prepares its catalog and
// tells the client it is ready.
func (sess *session) open() error {
	ctx, cancel := context.WithTimeout(sess.srv.ctx, openTimeout)
	defer cancel()
	conn, err := sess.srv.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("getting a DuckDB connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, sessionSetup(sess.srv.policy, sess.role, sess.srv.dbName, sess.user, sess.pid)+";\n"+regclassSetup()); err != nil {
		conn.Close()
		return fmt.Errorf("preparing the session's catalog: %w", err)
	}
	sess.conn = conn
	sess.chk = &checker{srv: sess.srv, role: sess.role, conn: conn}
	for _, k := range startupParams {
		sess.be.Send(&pgproto3.ParameterStatus{Name: k, Value: sess.params[k]})
	}
	sess.be.Send(&pgproto3.BackendKeyData{ProcessID: sess.pid, SecretKey: sess.secret[:]})
	sess.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	return sess.be.Flush()
}

func (sess *session) close() {
	sess.closePortals()
	if sess.conn != nil {
		sess.conn.Close()
	}
}

func (sess *session) sendFatal(e *pgError) {
	e.Severity = "FATAL"
	sess.be.Send(e.response())
	_ = sess.be.Flush()
}

func (sess *session) secretMatches(secret []byte) bool {
	return subtle.ConstantTimeCompare(secret, sess.secret[:]) == 1
}

// cancelRunning cancels the query running now, if any.
func (sess *session) cancelRunning(cause error) {
	sess.runMu.Lock()
	defer sess.runMu.Unlock()
	if sess.runCancel != nil {
		sess.runCancel(cause)
	}
}

// queryContext returns the context one statement runs under: the statement
// timeout, cancel requests, shutdown and the memory watchdog all end it,
// each with its cause. It waits for one of Limits.MaxConcurrentQueries
// places first; a cancel or timeout while waiting ends the wait, and the
// statement then fails with that cause.
func (sess *session) queryContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(sess.srv.ctx)
	tctx, tcancel := context.WithTimeoutCause(ctx, statementTimeout(sess.params, sess.srv.cfg.StatementTimeout), errStatementTimeout)
	sess.runMu.Lock()
	sess.runCancel = cancel
	sess.runMu.Unlock()
	run := sess.srv.startQuery(tctx, cancel)
	return tctx, func() {
		sess.srv.endQuery(run)
		sess.runMu.Lock()
		sess.runCancel = nil
		sess.runMu.Unlock()
		tcancel()
		cancel(nil)
	}
}

// loop reads and answers messages until the client leaves or the server
// shuts down.
func (sess *session) loop() {
	for {
		msg, err := sess.be.Receive()
		if err != nil {
			if isMessageTooLarge(err) {
				sess.log.Warn("SQL gateway: message over gateway.limits.max_message_bytes; closing the session")
				sess.sendFatal(errMessageTooLarge(sess.srv.cfg.Limits.MaxMessageBytes, true))
				return
			}
			if sess.srv.ctx.Err() != nil {
				sess.sendFatal(fatal(codeAdminShutdown, "terminating connection: the gateway is shutting down"))
			}
			return
		}
		if !sess.dispatch(msg) || sess.ended {
			return
		}
		if sess.srv.ctx.Err() != nil {
			sess.sendFatal(fatal(codeAdminShutdown, "terminating connection: the gateway is shutting down"))
			return
		}
	}
}

// dispatch handles one message; false ends the session.
func (sess *session) dispatch(msg pgproto3.FrontendMessage) bool {
	switch m := msg.(type) {
	case *pgproto3.Query:
		return sess.simpleQuery(m.String)
	case *pgproto3.Terminate:
		return false
	case *pgproto3.Sync:
		sess.skipping = false
		sess.closePortal("")
		if sess.txStatus == 'I' {
			sess.closePortals()
		}
		sess.be.Send(&pgproto3.ReadyForQuery{TxStatus: sess.txStatus})
		return sess.be.Flush() == nil
	case *pgproto3.Flush:
		return sess.be.Flush() == nil
	}
	if sess.skipping {
		return true // after an error, the extended protocol skips to Sync
	}
	var err error
	switch m := msg.(type) {
	case *pgproto3.Parse:
		err = sess.parse(m)
	case *pgproto3.Bind:
		err = sess.bind(m)
	case *pgproto3.Describe:
		err = sess.describe(m)
	case *pgproto3.Execute:
		err = sess.execute(m)
	case *pgproto3.Close:
		if m.ObjectType == 'S' {
			delete(sess.stmts, m.Name)
		} else {
			sess.closePortal(m.Name)
		}
		sess.be.Send(&pgproto3.CloseComplete{})
	case *pgproto3.FunctionCall:
		err = errorf(codeFeature, "the fast-path function call interface is not supported")
	case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
		return true // COPY is never started, so these are stray
	default:
		err = errorf(codeProtocol, "unexpected message %T", msg)
	}
	if errors.Is(err, errSessionEnded) {
		return false
	}
	if err != nil {
		pe := toPG(nil, err)
		sess.be.Send(pe.response())
		sess.skipping = true
		if sess.txStatus == 'T' {
			sess.txStatus = 'E'
		}
		if pe.Severity == "FATAL" {
			_ = sess.be.Flush()
			return false
		}
	}
	return true
}
