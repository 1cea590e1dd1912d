package gateway

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestThrottleBackOff(t *testing.T) {
	lim := Limits{LoginFailures: 3, LoginWindow: time.Minute, LoginMaxDelay: 8 * time.Second}.withDefaults()
	th := newThrottle(lim)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th.now = func() time.Time { return now }
	for i := 1; i <= 2; i++ {
		if th.failed("ana", "10.0.0.1") || th.blocked("ana", "10.0.0.1") != 0 {
			t.Fatalf("throttled after %d failures; the threshold is 3", i)
		}
	}
	// The 3rd failure blocks for 1 s; each further one doubles, up to 8 s.
	for i, want := range []time.Duration{1, 2, 4, 8, 8} {
		if !th.failed("ana", "10.0.0.1") {
			t.Fatalf("failure %d did not throttle", i+3)
		}
		if got := th.blocked("ana", "10.0.0.1"); got != want*time.Second {
			t.Fatalf("after failure %d: blocked %s, want %s", i+3, got, want*time.Second)
		}
		now = now.Add(want * time.Second) // the window passes before the next try
	}
	// The address is throttled for every user; another address is not.
	th.failed("ana", "10.0.0.1")
	if th.blocked("graf", "10.0.0.1") == 0 {
		t.Fatal("another user from the throttled address is not throttled")
	}
	if th.blocked("ana", "10.0.0.2") != 0 {
		t.Fatal("the user is throttled from an address that never failed")
	}
	// Quiet for a window after the block: the count starts again.
	now = now.Add(lim.LoginMaxDelay + lim.LoginWindow + time.Second)
	if th.failed("ana", "10.0.0.1") || th.blocked("ana", "10.0.0.1") != 0 {
		t.Fatal("failures were not forgotten after a quiet window")
	}
}

func TestFailedLoginsAreThrottledAndRecorded(t *testing.T) {
	s := testServer(t)
	// The throttle's clock stands still, so that no back-off window ends
	// while a busy machine runs the 500 attempts.
	frozen := time.Now()
	s.thr.mu.Lock()
	s.thr.now = func() time.Time { return frozen }
	s.thr.mu.Unlock()
	start := time.Now().Add(-time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	const secret = "not-the-pw-7c1e"
	codes := map[string]int{}
	for i := 0; i < 500; i++ {
		_, err := pgx.Connect(ctx, connString(s, "ana", secret))
		if err == nil {
			t.Fatal("a wrong password was accepted")
		}
		codes[pgCode(err)]++
	}
	if codes[codeInvalidPassword] != DefaultLoginFailures || codes[codeInvalidAuth] != 500-DefaultLoginFailures {
		t.Fatalf("500 wrong passwords: SQLSTATEs %v; want %d × 28P01 then throttled (28000)", codes, DefaultLoginFailures)
	}
	_, err := pgx.Connect(ctx, connString(s, "ana", "ana-pw"))
	if pgCode(err) != codeInvalidAuth || !strings.Contains(err.Error(), "too many failed logins") {
		t.Fatalf("the right password from the throttled address: %v, want refused by the throttle", err)
	}
	// From another address (127.0.0.2 is loopback too) the right one works.
	other := func(user string) *pgx.Conn {
		cfg, err := pgx.ParseConfig(connString(s, user, user+"-pw"))
		if err != nil {
			t.Fatal(err)
		}
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		cfg.DialFunc = d.DialContext
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("the right password for %s from another address: %v", user, err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	other("ana")
	// Every attempt is recorded, with the address and without the password;
	// the compliance role reads the table through the gateway.
	if err := s.ownedL.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	comp := other("comp")
	count := func(where string, args ...any) int {
		t.Helper()
		var n int
		q := "select count(*) from gateway_logins where attempted_at >= $1 and user_name = 'ana' and source_address = '127.0.0.1' and " + where
		if err := comp.QueryRow(ctx, q, append([]any{pgx.QueryExecModeSimpleProtocol, start}, args...)...).Scan(&n); err != nil {
			t.Fatalf("compliance reading gateway_logins: %v", err)
		}
		return n
	}
	failed, throttled := count("outcome = 'failed'"), count("outcome = 'throttled'")
	withSecret := count("concat_ws(' ', user_name, source_address, outcome, reason) like '%' || $2 || '%'", secret)
	if failed != DefaultLoginFailures || throttled != 500-DefaultLoginFailures+1 || withSecret != 0 {
		t.Fatalf("gateway_logins: %d failed, %d throttled, %d with the password; want %d, %d, 0",
			failed, throttled, withSecret, DefaultLoginFailures, 500-DefaultLoginFailures+1)
	}
	// An unknown name is not recorded as typed.
	if _, err := pgx.Connect(ctx, connString(s, "someone@example.com", "x")); err == nil {
		t.Fatal("unknown user accepted")
	}
	if err := s.ownedL.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var typed int
	if err := comp.QueryRow(ctx, `select count(*) from gateway_logins where user_name like '%example.com%'`).Scan(&typed); err != nil || typed != 0 {
		t.Fatalf("an unknown login name was recorded as typed: %d, %v", typed, err)
	}
}
