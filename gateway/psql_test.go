package gateway

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// psql runs the real psql client against s as user and returns its output.
func psql(t *testing.T, s *Server, user string, args ...string) (string, error) {
	t.Helper()
	return psqlMode(t, s, user, "prefer", args...)
}

// psqlMode is psql with the given sslmode.
func psqlMode(t *testing.T, s *Server, user, sslmode string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed (apt-get install -y postgresql-client)")
	}
	host, port, _ := net.SplitHostPort(s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// No -d: libpq then asks for a database named after the user, as
	// `psql -h 127.0.0.1 -p 5433 -U analyst` does.
	cmd := exec.CommandContext(ctx, bin, append([]string{"-h", host, "-p", port, "-U", user, "-X", "-v", "ON_ERROR_STOP=1"}, args...)...)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+user+"-pw", "PGCONNECT_TIMEOUT=10", "PGSSLMODE="+sslmode)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPsqlQueryAndDescribe(t *testing.T) {
	s := testServer(t)
	out, err := psql(t, s, "ana", "-c", "select channel, sum(conversations) as n from kpi_daily group by channel order by channel limit 3")
	if err != nil || !strings.Contains(out, "channel") || !strings.Contains(out, "(3 rows)") {
		t.Fatalf("psql -c: %v\n%s", err, out)
	}

	out, err = psql(t, s, "ana", "-c", `\dt`)
	if err != nil {
		t.Fatalf(`\dt: %v\n%s`, err, out)
	}
	for _, want := range []string{"kpi_daily", "kpi_daily_team"} {
		if !strings.Contains(out, want) {
			t.Errorf(`\dt as analyst lacks %s:\n%s`, want, out)
		}
	}
	for _, hidden := range []string{"events", "contact_identities", "stg_", "int_", "gateway_queries"} {
		if strings.Contains(out, hidden) {
			t.Errorf(`\dt as analyst shows %s:\n%s`, hidden, out)
		}
	}

	out, err = psql(t, s, "ana", "-c", `\dv`)
	// contacts is a view: it leaves out withdrawn people at query time.
	if err != nil || !strings.Contains(out, "timeline") || !strings.Contains(out, "conversations") || !strings.Contains(out, "contacts") ||
		!strings.Contains(out, "view") {
		t.Fatalf(`\dv: %v\n%s`, err, out)
	}

	out, err = psql(t, s, "ana", "-c", `\d conversations`)
	if err != nil {
		t.Fatalf(`\d conversations: %v\n%s`, err, out)
	}
	// PostgreSQL's format_type names (pgtypes.go), not DuckDB's.
	for _, want := range []string{`View "main.conversations"`, "contact_key", "character varying", "opened_at",
		"timestamp with time zone", "frt_s", "double precision", "bot_handled", "boolean"} {
		if !strings.Contains(out, want) {
			t.Errorf(`\d conversations lacks %q:\n%s`, want, out)
		}
	}
	out, err = psql(t, s, "ana", "-c", `\d+ timeline`)
	if err != nil || !strings.Contains(out, `View "main.timeline"`) || !strings.Contains(out, "event_type") {
		t.Fatalf(`\d+ timeline: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "ana", "-c", `\d`)
	if err != nil || !strings.Contains(out, "timeline") || !strings.Contains(out, "kpi_daily") {
		t.Fatalf(`\d: %v\n%s`, err, out)
	}
}

func TestPsqlLeadershipSeesKPIsOnly(t *testing.T) {
	s := testServer(t)
	out, err := psql(t, s, "lead", "-c", `\dt`)
	if err != nil || !strings.Contains(out, "kpi_daily") || strings.Contains(out, "conversations") {
		t.Fatalf(`\dt as leadership: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "lead", "-c", `\d conversations`)
	if err == nil || !strings.Contains(out, "Did not find any relation") {
		t.Fatalf(`\d conversations as leadership should find nothing: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "lead", "-c", "select count(*) from conversations")
	if err == nil || !strings.Contains(out, `relation "conversations" is not available to role leadership`) {
		t.Fatalf("leadership read conversations: %v\n%s", err, out)
	}
}

func TestPsqlOtherMetaCommands(t *testing.T) {
	s := testServer(t)
	for _, cmd := range []string{`\l`, `\l+`, `\dn`, `\du`, `\conninfo`, `\d kpi_daily`} {
		out, err := psql(t, s, "comp", "-c", cmd)
		if err != nil || strings.Contains(out, "ERROR") {
			t.Errorf("%s: %v\n%s", cmd, err, out)
		}
	}
}

// psql 15's table-name completion (tab after "select * from kpi") sends
// this query; it completes nothing unless pg_namespace lists pg_catalog.
// A role completes only the relations it reads.
func TestPsqlTableNameCompletion(t *testing.T) {
	s := testServer(t)
	const q = `SELECT pg_catalog.quote_ident(c.relname) FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND substring(pg_catalog.quote_ident(c.relname),1,3)='con' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog') ORDER BY 1 LIMIT 1000`
	for user, want := range map[string]string{"ana": "contacts,conversations", "lead": ""} {
		out, err := psql(t, s, user, "-At", "-c", q)
		if err != nil {
			t.Fatalf("completion query as %s: %v\n%s", user, err, out)
		}
		if got := strings.Join(strings.Fields(out), ","); got != want {
			t.Errorf("completion of 'con' as %s = %q, want %q", user, got, want)
		}
	}
}

// With a certificate configured (here the demo's self-signed pair), psql
// with sslmode=require connects over TLS.
func TestPsqlSSLModeRequire(t *testing.T) {
	dir := t.TempDir()
	cert, key, err := SelfSignedTLS(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(key); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, mode %v; want 0600", key, err, st.Mode().Perm())
	}
	if again, _, err := SelfSignedTLS(dir); err != nil || again != cert {
		t.Fatalf("second call: %s, %v; want the same pair reused", again, err)
	}
	before, _ := os.ReadFile(cert)
	s := testServer(t, func(c *Config, _ *Options) { c.TLSCertFile, c.TLSKeyFile = cert, key })
	out, err := psqlMode(t, s, "ana", "require", "-At", "-c", "select 41 + 1", "-c", `\conninfo`)
	if err != nil || !strings.Contains(out, "42") || !strings.Contains(out, "SSL connection (protocol: TLS") {
		t.Fatalf("psql sslmode=require: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(cert)
	if string(before) != string(after) {
		t.Fatal("the certificate changed while the gateway used it")
	}
}

// psql's \copy (query) to stdout is COPY (query) TO STDOUT: the query is
// checked as any query of the role.
func TestPsqlCopyToStdout(t *testing.T) {
	s := testServer(t)
	out, err := psql(t, s, "ana", "-c", `\copy (select 1 as a, 'x,y' as b, null as c union all select 2, 'tab	back\', 'z') to stdout with csv header`)
	if want := "a,b,c\n1,\"x,y\",\n2,tab\tback\\,z\n"; err != nil || out != want {
		t.Fatalf("\\copy csv: %v\n%q, want %q", err, out, want)
	}
	out, err = psql(t, s, "ana", "-c", `copy (select 'tab	back\' as b, null as c) to stdout`)
	if want := "tab\\tback\\\\\t\\N\n"; err != nil || out != want {
		t.Fatalf("copy text: %v\n%q, want %q", err, out, want)
	}
	out, err = psql(t, s, "lead", "-c", `\copy (select * from conversations) to stdout`)
	if err == nil || !strings.Contains(out, `relation "conversations" is not available to role leadership`) {
		t.Fatalf("leadership copied conversations: %v\n%s", err, out)
	}
}

// psql's FETCH_COUNT reads results through a cursor (BEGIN, DECLARE,
// FETCH FORWARD n, CLOSE, COMMIT); the cursor's query is checked as any.
func TestPsqlFetchCount(t *testing.T) {
	s := testServer(t)
	out, err := psql(t, s, "ana", "-At", "-v", "FETCH_COUNT=3", "-c", "select x from range(8) t(x) order by x")
	if want := "0\n1\n2\n3\n4\n5\n6\n7\n"; err != nil || out != want {
		t.Fatalf("FETCH_COUNT=3: %v\n%q, want %q", err, out, want)
	}
	out, err = psql(t, s, "lead", "-At", "-v", "FETCH_COUNT=3", "-c", "select * from conversations")
	if err == nil || !strings.Contains(out, `relation "conversations" is not available to role leadership`) {
		t.Fatalf("leadership read conversations through a cursor: %v\n%s", err, out)
	}
	out, err = psql(t, s, "ana", "-c", "declare c cursor for select 1")
	if err == nil || !strings.Contains(out, "only be used in transaction blocks") {
		t.Fatalf("DECLARE outside a transaction: %v\n%s", err, out)
	}
}

// \df lists no function (the warehouse defines none, and DuckDB's
// built-ins are outside every schema pg_namespace lists); \sf of a name
// says it does not exist. \sv prints a view's SQL to a role that reads
// every relation, and an empty body to one that does not (a view's SQL
// names what it reads); a view the role cannot read is unknown.
func TestPsqlFunctionsAndViewSource(t *testing.T) {
	s := testServer(t)
	out, err := psql(t, s, "ana", "-c", `\df`)
	if err != nil || !strings.Contains(out, "List of functions") || !strings.Contains(out, "(0 rows)") {
		t.Fatalf(`\df: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "ana", "-c", `\sf no_such_function`)
	if err == nil || !strings.Contains(out, `function "no_such_function" does not exist`) {
		t.Fatalf(`\sf: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "comp", "-c", `\sv timeline`)
	// The body is the query alone, as PostgreSQL's pg_get_viewdef gives
	// it, not DuckDB's CREATE VIEW statement.
	if err != nil || !strings.Contains(out, "CREATE OR REPLACE VIEW main.timeline AS") || !strings.Contains(out, "int_events_attributed") ||
		strings.Contains(out, "CREATE VIEW") {
		t.Fatalf(`\sv timeline as compliance: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "ana", "-c", `\sv timeline`)
	if err != nil || !strings.Contains(out, "CREATE OR REPLACE VIEW main.timeline AS") || strings.Contains(out, "int_events_attributed") {
		t.Fatalf(`\sv timeline as analyst: %v\n%s`, err, out)
	}
	out, err = psql(t, s, "lead", "-c", `\sv timeline`)
	if err == nil || !strings.Contains(out, `relation "timeline" does not exist`) {
		t.Fatalf(`\sv timeline as leadership: %v\n%s`, err, out)
	}
}
