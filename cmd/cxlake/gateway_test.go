package main

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDemoServesSQL runs the live demo and connects with the psql command
// lines it prints, as a person would: the analyst reads the marts, the
// grafana user the KPIs only.
func TestDemoServesSQL(t *testing.T) {
	t.Setenv(EnvDemoPassword, "demo-secret")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = old }()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- runDemo(ctx, []string{"--events", "3000", "--data", filepath.Join(t.TempDir(), "demo"), "--pg-addr", "127.0.0.1:0", "--rate", "50"})
		w.Close()
	}()
	// "  analyst     PGPASSWORD=demo-secret psql -h 127.0.0.1 -p 41234 -U analyst cxlake"
	line := regexp.MustCompile(`^\s+(\w+)\s+PGPASSWORD=(\S+) psql -h (\S+) -p (\d+) -U (\w+) (\w+)$`)
	found := map[string][]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(2 * time.Minute)
	for len(found) < 4 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended before printing the psql lines: %v", <-done)
			}
			if m := line.FindStringSubmatch(l); m != nil {
				found[m[1]] = m
			}
		case <-timeout:
			t.Fatalf("no psql lines after 2 minutes; found %v", found)
		}
	}
	go func() {
		for range lines {
		}
	}()
	for _, role := range []string{"leadership", "grafana", "analyst", "compliance"} {
		if m := found[role]; m == nil || m[2] != "demo-secret" || m[5] != role || m[6] != "cxlake" {
			t.Fatalf("psql line for %s: %v", role, m)
		}
	}
	url := func(role string) string {
		m := found[role]
		return "postgres://" + m[5] + ":" + m[2] + "@" + m[3] + ":" + m[4] + "/" + m[6] + "?sslmode=disable"
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ana, err := pgx.Connect(cctx, url("analyst"))
	if err != nil {
		t.Fatal(err)
	}
	defer ana.Close(cctx)
	var conversations int64
	if err := ana.QueryRow(cctx, "select count(*) from conversations").Scan(&conversations); err != nil || conversations == 0 {
		t.Fatalf("analyst: %d conversations, %v", conversations, err)
	}
	graf, err := pgx.Connect(cctx, url("grafana"))
	if err != nil {
		t.Fatal(err)
	}
	defer graf.Close(cctx)
	var days int64
	if err := graf.QueryRow(cctx, "select count(distinct day) from kpi_daily").Scan(&days); err != nil || days == 0 {
		t.Fatalf("grafana: %d days of KPIs, %v", days, err)
	}
	if _, err := graf.Exec(cctx, "select * from conversations"); err == nil || !strings.Contains(err.Error(), "not available to role grafana") {
		t.Fatalf("grafana read conversations: %v", err)
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("demo did not stop")
	}
}

func TestGatewayVerifierCommand(t *testing.T) {
	in, err := os.CreateTemp(t.TempDir(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	in.WriteString("s3cret\n")
	in.Seek(0, 0)
	oldIn := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = oldIn }()
	out, err := capture(t, func() error { return runGatewayVerifier(context.Background(), nil) })
	if err != nil || !strings.HasPrefix(out, "SCRAM-SHA-256$4096:") {
		t.Fatalf("verifier: %q %v", out, err)
	}
	if _, err := capture(t, func() error { return runGatewayVerifier(context.Background(), []string{"s3cret"}) }); err == nil {
		t.Fatal("a password on the command line was accepted")
	}
}

func TestPgAddrErrorsSayWhatToDo(t *testing.T) {
	ctx := context.Background()
	_, err := capture(t, func() error { return runRun(ctx, []string{"--pg-addr", "nowhere"}) })
	if err == nil || !strings.Contains(err.Error(), "--pg-addr") || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("run --pg-addr nowhere: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = capture(t, func() error {
		return runDemo(ctx, []string{"--once", "--events", "10", "--data", t.TempDir(), "--pg-addr", ln.Addr().String()})
	})
	if err == nil || !strings.Contains(err.Error(), "--pg-addr") || !strings.Contains(err.Error(), "free host:port") {
		t.Fatalf("demo on a busy port: %v", err)
	}
}
