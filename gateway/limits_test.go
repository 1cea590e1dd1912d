package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// slowQuery takes well over a second on the test warehouse.
const slowQuery = "select sum(hash(c.conversation_id || r.range) % 7) from conversations c, range(200000) r"

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func TestStatementTimeout(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) {
		c.StatementTimeout, c.Limits.MaxSleep = 300*time.Millisecond, 10*time.Second
	})
	c := connect(t, s, "ana")
	ctx := context.Background()
	for _, q := range []string{slowQuery, "select pg_sleep(5)"} {
		start := time.Now()
		_, err := c.Exec(ctx, q)
		if pgCode(err) != codeCanceled || !strings.Contains(err.Error(), "statement timeout") {
			t.Fatalf("%s: %v, want a statement timeout (57014)", q, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: the timeout took %s", q, d)
		}
	}
	var one int
	if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("session after a timeout: %v", err)
	}
	recs := auditRows(t, s, c.PgConn().PID())
	if len(recs) < 2 || recs[0].Outcome != OutcomeTimeout || recs[1].Outcome != OutcomeTimeout {
		t.Fatalf("audit: %+v", recs)
	}
}

func TestCancelRequest(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.Limits.MaxSleep = time.Minute })
	c := connect(t, s, "ana")
	ctx := context.Background()
	go func() {
		// Cancel once the server runs the query, not after a guessed delay.
		for deadline := time.Now().Add(30 * time.Second); s.Running() == 0; {
			if time.Now().After(deadline) {
				t.Errorf("pg_sleep never started")
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := c.PgConn().CancelRequest(cctx); err != nil {
			t.Errorf("cancel request: %v", err)
		}
	}()
	start := time.Now()
	_, err := c.Exec(ctx, "select pg_sleep(20)")
	if pgCode(err) != codeCanceled || !strings.Contains(err.Error(), "user request") {
		t.Fatalf("canceled query: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %s", d)
	}
	var one int
	if err := c.QueryRow(ctx, "select 1").Scan(&one); err != nil {
		t.Fatalf("session after a cancel: %v", err)
	}
	// A context deadline in pgx sends a cancel request too.
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := c.Exec(dctx, slowQuery); err == nil {
		t.Fatal("query outlived its context")
	}
	// The server records a statement when it finishes, which may be after
	// the client has given up on it: wait for the records, not for a time.
	var recs []QueryRecord
	for deadline := time.Now().Add(60 * time.Second); ; {
		recs = auditRows(t, s, c.PgConn().PID())
		if len(recs) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(recs) == 0 || recs[0].Outcome != OutcomeCanceled {
		t.Fatalf("audit: %+v", recs)
	}
}

func TestMaxResultRows(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.MaxResultRows = 10 })
	c := connect(t, s, "ana")
	ctx := context.Background()
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		rows, err := c.Query(ctx, "select * from range(10)", mode)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		if rows.Err() != nil || n != 10 {
			t.Fatalf("%s: 10 rows: got %d, %v", mode, n, rows.Err())
		}
		rows, err = c.Query(ctx, "select * from range(11)", mode)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
		}
		if pgCode(err) != codeProgramLimit || !strings.Contains(err.Error(), "max_result_rows") {
			t.Fatalf("%s: 11 rows: %v", mode, err)
		}
	}
}

func TestMaxConnections(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.MaxConnections = 2 })
	a := connect(t, s, "ana")
	connect(t, s, "graf")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := pgx.Connect(ctx, connString(s, "lead", "lead-pw"))
	if pgCode(err) != codeTooManyConns {
		t.Fatalf("third connection: %v, want SQLSTATE 53300", err)
	}
	a.Close(ctx)
	for s.Sessions() > 1 {
		time.Sleep(5 * time.Millisecond)
	}
	c, err := pgx.Connect(ctx, connString(s, "lead", "lead-pw"))
	if err != nil {
		t.Fatalf("connection after one closed: %v", err)
	}
	c.Close(ctx)
}

func TestWrongCredentialsSayNothingSpecific(t *testing.T) {
	s := testServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, errPassword := pgx.Connect(ctx, connString(s, "ana", "wrong"))
	_, errUser := pgx.Connect(ctx, connString(s, "nobody", "ana-pw"))
	for _, err := range []error{errPassword, errUser} {
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != codeInvalidPassword {
			t.Fatalf("wrong credentials: %v, want SQLSTATE 28P01", err)
		}
		if pe.Detail != "" || pe.Hint != "" {
			t.Errorf("the refusal says more than it should: %+v", pe)
		}
	}
	norm := func(err error) string {
		var pe *pgconn.PgError
		errors.As(err, &pe)
		return strings.NewReplacer(`"ana"`, "U", `"nobody"`, "U").Replace(pe.Message)
	}
	if norm(errPassword) != norm(errUser) {
		t.Fatalf("a wrong password and an unknown user read differently:\n%s\n%s", errPassword, errUser)
	}
	_, err := pgx.Connect(ctx, strings.Replace(connString(s, "ana", "ana-pw"), "/cxlake?", "/other?", 1))
	if pgCode(err) != codeNoDatabase || !strings.Contains(err.Error(), `connect to database "cxlake"`) {
		t.Fatalf("wrong database: %v", err)
	}
	// The right password over SCRAM works, with the verifier form too.
	v, err := NewVerifier("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	s2 := testServer(t, func(c *Config, _ *Options) { c.Users = []User{{Name: "v", Role: RoleAnalyst, SCRAM: v}} })
	c, err := pgx.Connect(ctx, connString(s2, "v", "s3cret"))
	if err != nil {
		t.Fatalf("login with a SCRAM verifier: %v", err)
	}
	c.Close(ctx)
}

// TestPortalSuspension drives the extended protocol by hand: a named
// portal read 4 rows at a time, as JDBC's fetch size does.
func TestPortalSuspension(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "ana")
	ctx := context.Background()
	if _, err := c.Exec(ctx, "begin"); err != nil {
		t.Fatal(err)
	}
	hc, err := c.PgConn().Hijack()
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Conn.Close()
	fe := hc.Frontend
	fe.Send(&pgproto3.Parse{Name: "s1", Query: "select range as n from range($1::bigint)"})
	fe.Send(&pgproto3.Bind{DestinationPortal: "p1", PreparedStatement: "s1", Parameters: [][]byte{[]byte("10")}})
	fe.Send(&pgproto3.Execute{Portal: "p1", MaxRows: 4})
	fe.Send(&pgproto3.Flush{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	suspended := 0
	for done := false; !done; {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			got = append(got, string(m.Values[0]))
		case *pgproto3.PortalSuspended:
			suspended++
			fe.Send(&pgproto3.Execute{Portal: "p1", MaxRows: 4})
			fe.Send(&pgproto3.Flush{})
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
		case *pgproto3.CommandComplete:
			done = true
		case *pgproto3.ErrorResponse:
			t.Fatalf("error: %s", m.Message)
		}
	}
	if strings.Join(got, ",") != "0,1,2,3,4,5,6,7,8,9" || suspended != 2 {
		t.Fatalf("rows %v, %d suspensions", got, suspended)
	}
}

func TestShutdownEndsSessions(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.Limits.MaxSleep = time.Minute })
	c := connect(t, s, "ana")
	idle := connect(t, s, "graf")
	errc := make(chan error, 1)
	go func() { _, err := c.Exec(context.Background(), "select pg_sleep(30)"); errc <- err }()
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
	if err := <-errc; err == nil {
		t.Fatal("the running query survived shutdown")
	} else if code := pgCode(err); code != codeAdminShutdown && code != codeCanceled {
		t.Errorf("the running query ended with %v, want SQLSTATE 57P01 or 57014", err)
	}
	if err := idle.Ping(context.Background()); err == nil {
		t.Fatal("an idle session survived shutdown")
	}
}

// SET statement_timeout shortens the server's limit for the session; it
// cannot lengthen it, and a value PostgreSQL would refuse is refused.
func TestSessionStatementTimeout(t *testing.T) {
	s := testServer(t, func(c *Config, _ *Options) { c.StatementTimeout, c.Limits.MaxSleep = 30*time.Second, time.Minute })
	c := connect(t, s, "ana")
	ctx := context.Background()
	if _, err := c.Exec(ctx, "set statement_timeout = '300ms'"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := c.Exec(ctx, "select pg_sleep(20)")
	if pgCode(err) != codeCanceled || time.Since(start) > 10*time.Second {
		t.Fatalf("after SET statement_timeout = '300ms': %v after %s, want 57014 well before the server's 30 s", err, time.Since(start))
	}
	for _, bad := range []string{"'1 fortnight'", "'-1'", "'abc'"} {
		_, err := c.Exec(ctx, "set statement_timeout = "+bad)
		if pgCode(err) != codeInvalidParam {
			t.Errorf("SET statement_timeout = %s: %v, want 22023", bad, err)
		}
	}
	for in, want := range map[string]time.Duration{"1000": time.Second, "1s": time.Second, "0.25 min": 15 * time.Second,
		"1.5s": 1500 * time.Millisecond, "0": 30 * time.Second, "DEFAULT": 30 * time.Second, "1h": 30 * time.Second} {
		if got := statementTimeout(map[string]string{"statement_timeout": in}, 30*time.Second); got != want {
			t.Errorf("statement_timeout %q under a 30 s ceiling = %s, want %s", in, got, want)
		}
	}
}
