package gateway

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestServerVersion: version(), SHOW server_version, current_setting and
// the start-up parameter agree, and the string parses the way SQLAlchemy's
// and pgjdbc's version checks parse it (issue 18: SQLAlchemy refused
// DuckDB's "v1.5.5"), while saying honestly what answers.
func TestServerVersion(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "ana")
	ctx := context.Background()
	start := c.PgConn().ParameterStatus("server_version")
	if !strings.HasPrefix(start, "15.0 (cxlake ") || !strings.Contains(start, ", DuckDB v") {
		t.Fatalf("start-up server_version %q", start)
	}
	var num string
	if err := c.QueryRow(ctx, "select current_setting('server_version_num')").Scan(&num); err != nil || num != "150000" {
		t.Fatalf("server_version_num %q (%v)", num, err)
	}
	// SQLAlchemy's psycopg2 dialect: _get_server_version_info.
	sqlalchemy := regexp.MustCompile(`(?:PostgreSQL|EnterpriseDB) (\d+)\.?(\d+)?(?:\.(\d+))?(?:\.\d+)?(?:devel|beta)?`)
	for _, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		var v, aliased, setting, shown string
		if err := c.QueryRow(ctx, "select version()", mode).Scan(&v); err != nil {
			t.Fatalf("%s: version(): %v", mode, err)
		}
		if v != "PostgreSQL "+start {
			t.Errorf("%s: version() %q, want %q", mode, v, "PostgreSQL "+start)
		}
		if m := sqlalchemy.FindStringSubmatch(v); m == nil || m[1] != "15" || m[2] != "0" {
			t.Errorf("%s: SQLAlchemy's pattern does not find 15.0 in %q", mode, v)
		}
		rows, err := c.Query(ctx, "select pg_catalog.version() as v", mode)
		if err != nil {
			t.Fatal(err)
		}
		if name := string(rows.FieldDescriptions()[0].Name); name != "v" {
			t.Errorf("%s: alias lost: %q", mode, name)
		}
		for rows.Next() {
			rows.Scan(&aliased)
		}
		if rows.Err() != nil || aliased != v {
			t.Errorf("%s: pg_catalog.version() %q (%v)", mode, aliased, rows.Err())
		}
		if err := c.QueryRow(ctx, "select current_setting('server_version')", mode).Scan(&setting); err != nil || setting != start {
			t.Errorf("%s: current_setting %q (%v), want %q", mode, setting, err, start)
		}
		if mode == pgx.QueryExecModeSimpleProtocol {
			if err := c.QueryRow(ctx, "show server_version", mode).Scan(&shown); err != nil || shown != start {
				t.Errorf("SHOW server_version %q (%v), want %q", shown, err, start)
			}
		}
	}
	if _, err := c.Exec(ctx, "select version(1)"); err == nil {
		t.Error("version(1) was answered")
	}
}
