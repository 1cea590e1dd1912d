package gateway

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The client conformance suite: real drivers analysts use (psycopg2,
// psycopg 3 and SQLAlchemy; pgjdbc; node-pg), each running a small program
// from testdata/clients against a gateway started by the test. The
// programs print "key=value" lines; the expected values below are worked
// out by hand from the literals in the programs.
//
// A client that is not installed skips its test locally; with CI=true it
// fails, since .ci/run installs every one of them.

// needClient skips (or, in CI, fails) when a client is missing.
func needClient(t *testing.T, what, install string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI must run the client conformance suite (%s)", what, install)
	}
	t.Skipf("%s is not installed (%s)", what, install)
}

// runClient runs argv with the libpq environment for user on s and
// returns the key=value lines it printed.
func runClient(t *testing.T, s *Server, user string, env []string, argv ...string) map[string]string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PGHOST="+host, "PGPORT="+port, "PGDATABASE=cxlake", "PGUSER="+user,
		"PGPASSWORD="+user+"-pw", "PGSSLMODE=disable", "PGCONNECT_TIMEOUT=10")
	cmd.Env = append(cmd.Env, env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), err, out, stderr.String())
	}
	got := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			got[k] = v
		}
	}
	return got
}

// pendingChecks are checks the programs run that the gateway does not
// pass yet (issue 18's remaining items): their output is logged, not
// compared. Remove a key once the gateway passes it, and expect its value.
var pendingChecks = map[string]bool{}

// compareClient checks every expected key; printed keys nobody expects
// are reported too (unless pending), so that a check added to a program
// is also asserted.
func compareClient(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, g := range got {
		if _, ok := want[k]; !ok && pendingChecks[k] {
			t.Logf("pending (issue 18): %s = %q", k, g)
			delete(got, k)
		}
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s: not printed", k)
		} else if g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s = %q is printed but not expected by the test", k, g)
		}
	}
}

func clientScript(t *testing.T, parts ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"testdata", "clients"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClientPython(t *testing.T) {
	const py = "/usr/bin/python3"
	const install = "apt-get install python3-psycopg2 python3-psycopg python3-sqlalchemy"
	_, err := os.Stat(py)
	ok := err == nil && exec.Command(py, "-c", "import psycopg2, psycopg, sqlalchemy").Run() == nil
	needClient(t, "Debian's python3 with psycopg2, psycopg and SQLAlchemy", install, ok)
	s := testServer(t, func(c *Config, _ *Options) { c.StatementTimeout = 30 * time.Second })
	script := clientScript(t, "python", "conformance.py")

	compareClient(t, runClient(t, s, "ana", nil, py, script, "analyst"), map[string]string{
		"pg2.version":           "version:PostgreSQL 15.0",
		"pg2.date":              "d:2026-11-21",
		"pg2.timestamptz":       "t:2026-11-20 02:02:03+00:00",
		"pg2.decimal":           "x:2.50",
		"pg2.list":              "n:2",
		"pg3.date":              "d:2026-11-21",
		"pg2.copy":              "a,b/1,x/2,y/",
		"pg2.named_cursor":      "0,1,2,3,4",
		"pg2.unaliased":         "count,min:2|2026-11-01",
		"pg3.statement_timeout": "57014 within 10s: True",
		"pg3.datetime":          "t:2026-11-20 01:02:03",
		"pg3.timestamptz":       "t:2026-11-20 02:02:03+00:00",
		// numeric parameters are DECIMAL(38,10) (params.go, declaredCasts);
		// PostgreSQL would keep the argument's scale and say 2.50.
		"pg3.decimal": "x:2.5000000000",
		// An untyped list (psycopg 3 sends one with no type) is a text
		// array (params.go, listParamTypes): email and sms of three.
		"pg3.list":   "n:2",
		"sa.connect": "42",
		"sa.tables":  "kpi_daily,kpi_daily_team",
		"sa.views":   "contacts,conversations,timeline",
		// format_type names PostgreSQL's types (pgtypes.go), which
		// SQLAlchemy maps to its own.
		"sa.columns": "contact_key:VARCHAR,identifiers:BIGINT,phones:BIGINT",
		// Index reflection's "a.attnum = ANY(ix.indkey)" in a LEFT JOIN
		// (anylist.go).
		"sa.reflect": "True",
	})
	compareClient(t, runClient(t, s, "lead", nil, py, script, "refused"), map[string]string{
		"pg2.refused": "42501", // insufficient_privilege
		"sa.tables":   "False",
		"sa.columns":  "ERR conversations", // SQLAlchemy's NoSuchTableError
	})
}

func TestClientJDBC(t *testing.T) {
	const jar = "/usr/share/java/postgresql.jar"
	const install = "apt-get install libpostgresql-jdbc-java default-jdk-headless"
	java, err := exec.LookPath("java")
	_, jerr := os.Stat(jar)
	needClient(t, "pgjdbc and a JDK", install, err == nil && jerr == nil)
	s := testServer(t)
	src := clientScript(t, "java", "Conformance.java")
	url := "jdbc:postgresql://" + s.Addr() + "/cxlake?sslmode=disable"
	run := func(user, mode string) map[string]string {
		return runClient(t, s, user, nil, java, "-cp", jar, src, url, user, user+"-pw", mode)
	}
	compareClient(t, run("ana", "analyst"), map[string]string{
		"jdbc.product":                  serverVersion(),
		"jdbc.setObject.offsetDateTime": "t:2026-11-20 01:02:03+00",
		"jdbc.fetchSize":                "45", // 0+1+...+9
		"jdbc.array":                    "n:2",
		"jdbc.tables":                   "kpi_daily,kpi_daily_team",
		"jdbc.setDate":                  "d:2026-11-21",
		"jdbc.setTimestamp":             "t:2026-11-20 02:02:03",
		// Every column of the contacts view, with pg_type's name of its
		// PostgreSQL type: a VARCHAR is varchar, a BIGINT int8.
		"jdbc.columns": "contact_key:varchar,identifiers:int8,phones:int8,emails:int8,channel_ids:int8," +
			"first_seen_at:timestamptz,conversations:int8,channels:int8,channel_list:varchar," +
			"first_conversation_at:timestamptz,last_conversation_event_at:timestamptz",
		// No relation has a primary key and the warehouse defines no
		// function: empty, with JDBC's columns.
		"jdbc.primaryKeys": "0 rows:TABLE_CAT,TABLE_SCHEM,TABLE_NAME,COLUMN_NAME,KEY_SEQ,PK_NAME",
		"jdbc.functions":   "0 rows:FUNCTION_CAT,FUNCTION_SCHEM,FUNCTION_NAME,REMARKS,FUNCTION_TYPE,SPECIFIC_NAME",
		// No index and no foreign key: empty, with JDBC's columns.
		"jdbc.indexInfo":    "0 rows:TABLE_CAT,TABLE_SCHEM,TABLE_NAME,NON_UNIQUE,INDEX_QUALIFIER,INDEX_NAME,TYPE,ORDINAL_POSITION,COLUMN_NAME,ASC_OR_DESC,CARDINALITY,PAGES,FILTER_CONDITION",
		"jdbc.importedKeys": "0 rows:PKTABLE_CAT,PKTABLE_SCHEM,PKTABLE_NAME,PKCOLUMN_NAME,FKTABLE_CAT,FKTABLE_SCHEM,FKTABLE_NAME,FKCOLUMN_NAME,KEY_SEQ,UPDATE_RULE,DELETE_RULE,FK_NAME,PK_NAME,DEFERRABILITY",
	})
	compareClient(t, run("lead", "refused"), map[string]string{
		"jdbc.refused": "42501",
		"jdbc.tables":  "false",
		// conversations exists, but leadership does not read it: no column.
		"jdbc.columns": "",
	})
}

func TestClientNode(t *testing.T) {
	const install = "npm install pg into a directory and set NODE_PATH to its node_modules"
	node, err := exec.LookPath("node")
	ok := err == nil && os.Getenv("NODE_PATH") != "" && exec.Command(node, "-e", "require('pg')").Run() == nil
	needClient(t, "node with the pg package on NODE_PATH", install, ok)
	s := testServer(t)
	script := clientScript(t, "node", "conformance.js")
	compareClient(t, runClient(t, s, "ana", nil, node, script, "analyst"), map[string]string{
		"node.params": "n,s:42|sms",
		"node.date":   "t:2026-11-21T00:00:00.000Z",
		"node.array":  "n:2", // email and sms of three, as an untyped list
	})
	compareClient(t, runClient(t, s, "lead", nil, node, script, "refused"), map[string]string{
		"node.refused": "42501",
	})
}
