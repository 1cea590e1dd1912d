package gateway

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cxlake/cxlake/governance/audit"
)

// What an e-mail address or a phone number looks like in an audit text
// (the same shapes the chain's personal-data check refuses).
var (
	emailLike = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+\.[A-Za-z0-9.\-]+`)
	phoneLike = regexp.MustCompile(`\+[0-9][0-9 ().\-]{6,}[0-9]`)
)

// chainSetup starts a gateway whose queries go to a ChainAuditor over
// chain (a real audit log when nil) and then to a TableAuditor.
func chainSetup(t *testing.T, chain ChainAppender, before []Role) (*Server, *TableAuditor, *ChainAuditor, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if chain == nil {
		l, err := audit.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		chain = l
	}
	table, err := NewTableAuditor(ctx, testWarehouse(t).DB, nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := NewChainAuditor(table, chain, nil, before, nil)
	// Cleanups run last first: these run after the server's shutdown.
	t.Cleanup(func() { _ = table.Close() })
	t.Cleanup(ca.Close)
	s := testServer(t, func(_ *Config, o *Options) { o.Auditor = ca })
	return s, table, ca, dir
}

// chainRecords reads the gateway_query records of the given sessions
// from the audit log in dir.
func chainRecords(t *testing.T, dir string, pids ...uint32) map[uint32][]audit.Record {
	t.Helper()
	want := map[uint32]bool{}
	for _, p := range pids {
		want[p] = true
	}
	out := map[uint32][]audit.Record{}
	err := audit.ReadRecords(context.Background(), dir, 0, func(r audit.Record) bool {
		if r.Kind != audit.KindGatewayQuery {
			return true
		}
		sess, _ := r.Detail["session"].(float64)
		if want[uint32(sess)] {
			out[uint32(sess)] = append(out[uint32(sess)], r)
		}
		return true
	})
	if err != nil {
		t.Fatalf("reading the audit chain: %v", err)
	}
	return out
}

// tableRecords reads gateway_queries for one session.
func tableRecords(t *testing.T, s *Server, table *TableAuditor, pid uint32) []QueryRecord {
	t.Helper()
	ctx := context.Background()
	if err := table.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := s.db.QueryContext(ctx, `select statement, coalesce(reason, ''), outcome, array_to_string(relations, ',')
		from gateway_queries where session_id = ? order by received_at`, int64(pid))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []QueryRecord
	for rows.Next() {
		var r QueryRecord
		var outcome, rels string
		if err := rows.Scan(&r.Statement, &r.Reason, &outcome, &rels); err != nil {
			t.Fatal(err)
		}
		r.Outcome = Outcome(outcome)
		if rels != "" {
			r.Relations = strings.Split(rels, ",")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// noPersonalData fails when text holds a planted value, an e-mail or a
// phone number.
func noPersonalData(t *testing.T, where, text string, planted ...string) {
	t.Helper()
	for _, p := range planted {
		if strings.Contains(text, p) {
			t.Errorf("%s keeps %q: %s", where, p, text)
		}
	}
	if m := emailLike.FindString(text); m != "" {
		t.Errorf("%s keeps an e-mail-like %q: %s", where, m, text)
	}
	if m := phoneLike.FindString(text); m != "" {
		t.Errorf("%s keeps a phone-like %q: %s", where, m, text)
	}
}

// TestChainKeepsAliasQueryBesideComplianceRead is B3: an analyst's query
// with an e-mail-like alias and a compliance read of contact_identities,
// in one buffer window, are both in the chain and in gateway_queries,
// masked, and neither is withheld or lost.
func TestChainKeepsAliasQueryBesideComplianceRead(t *testing.T) {
	s, table, ca, dir := chainSetup(t, nil, []Role{RoleCompliance})
	ctx := context.Background()
	ana, comp := connect(t, s, "ana"), connect(t, s, "comp")
	planted := []string{"maria.q12@example.org", "x@y.co"}
	var one int
	if err := ana.QueryRow(ctx, `select 1 as "maria.q12@example.org"`, pgx.QueryExecModeSimpleProtocol).Scan(&one); err != nil || one != 1 {
		t.Fatalf("alias query: %d %v", one, err)
	}
	rows, err := comp.Query(ctx, "select identifier_kind, identifier_value from contact_identities limit 5")
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for rows.Next() {
		var kind, value string
		if err := rows.Scan(&kind, &value); err != nil {
			t.Fatal(err)
		}
		values = append(values, value)
	}
	if err := rows.Err(); err != nil || len(values) == 0 {
		t.Fatalf("compliance read: %d rows, %v", len(values), err)
	}
	if err := ana.QueryRow(ctx, `select 1 as "x@y.co"`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	ca.Flush(ctx)

	anaPID, compPID := ana.PgConn().PID(), comp.PgConn().PID()
	got := chainRecords(t, dir, anaPID, compPID)
	if len(got[anaPID]) != 2 {
		t.Fatalf("analyst: %d chain records, want 2: %+v", len(got[anaPID]), got[anaPID])
	}
	// Compliance: one record before the query ran, one after.
	if len(got[compPID]) != 2 || got[compPID][0].Detail["outcome"] != string(OutcomeStarted) || got[compPID][1].Detail["outcome"] != string(OutcomeOK) {
		t.Fatalf("compliance: chain records %+v, want started then ok", got[compPID])
	}
	for _, r := range append(got[anaPID], got[compPID]...) {
		if r.Detail["withheld"] != nil {
			t.Errorf("record %d was withheld, want it masked: %+v", r.Index, r.Detail)
		}
	}
	if rels := got[compPID][1].Detail["relations"]; !strings.Contains(strings.Join(toStrings(rels), ","), "main.contact_identities") {
		t.Errorf("compliance record relations %v", rels)
	}
	if s := got[anaPID][0].Detail["statement"]; s != "SELECT $1 AS alias1" {
		t.Errorf("analyst statement in the chain %q, want SELECT $1 AS alias1", s)
	}
	if ca.Lost() != 0 || ca.Withheld() != 0 {
		t.Errorf("lost %d, withheld %d; want 0 and 0", ca.Lost(), ca.Withheld())
	}
	// The chain file, byte for byte, carries none of it; nor do the
	// values compliance read.
	raw, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	noPersonalData(t, "the audit chain", string(raw), append(planted, values...)...)

	for _, pid := range []uint32{anaPID, compPID} {
		recs := tableRecords(t, s, table, pid)
		if pid == anaPID && len(recs) != 2 || pid == compPID && len(recs) != 1 {
			t.Errorf("session %d: %d rows in gateway_queries", pid, len(recs))
		}
		for _, r := range recs {
			noPersonalData(t, "gateway_queries", r.Statement+" "+r.Reason, append(planted, values...)...)
		}
	}
}

func toStrings(v any) []string {
	xs, _ := v.([]any)
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// TestAuditMasksNamesAndTypeValues: each shape that carried a value past
// the constant masking (issue 24 item 9, B3) is masked in gateway_queries
// and in the chain. The expected statements are worked out by hand from
// the rule: constants become $n, names the catalog does not know become
// aliasN/colN/relN (numbered in the order the tree's fields are visited,
// sorted by field name), values outside expressions become '?'.
func TestAuditMasksNamesAndTypeValues(t *testing.T) {
	s, table, ca, dir := chainSetup(t, nil, nil)
	ctx := context.Background()
	c := connect(t, s, "comp")
	shapes := []struct {
		name, sql string
		planted   []string
		want      string // the masked statement; "" to check only what it lacks
	}{
		{"e-mail alias", `select 1 as "maria.q12@example.org"`, []string{"maria.q12@example.org"}, "SELECT $1 AS alias1"},
		{"e-mail alias without as", `select 1 "x@y.co"`, []string{"x@y.co"}, "SELECT $1 AS alias1"},
		{"a name as an alias", `select count(*) as "Rosalinda Souza" from conversations`, []string{"Rosalinda"}, `SELECT count_star() AS alias1 FROM conversations`},
		{"double-quoted phone as a column", `select "+5511911110003" from conversations`, []string{"5511911110003"}, "SELECT col1 FROM conversations"},
		{"PIVOT IN", `select * from conversations pivot (count(*) for channel in ('+5511911110008', 'email'))`, []string{"5511911110008"},
			"SELECT * FROM conversations PIVOT (count_star() FOR (channel) IN ('?', '?'))"},
		{"PIVOT statement IN", `pivot conversations on channel in ('+5511911110009') using count(*)`, []string{"5511911110009"}, ""},
		{"CAST AS ENUM", `select cast(channel as enum('+5511977770001', 'whatsapp')) from conversations limit 1`, []string{"5511977770001"}, ""},
		{"STRUCT field name", `select {'ana.k@example.net': 1} as s`, []string{"ana.k@example.net"}, ""},
		{"struct type field", `select cast(null as struct("bruno@example.com" varchar))`, []string{"bruno@example.com"}, ""},
		{"CTE name", `with "+5511911110004" as (select 1 as x) select * from "+5511911110004"`, []string{"5511911110004"}, ""},
		{"table alias", `select "c@d.io".channel from conversations as "c@d.io" limit 1`, []string{"c@d.io"}, "SELECT alias1.channel FROM conversations AS alias1 LIMIT $1"},
		{"column aliases of a relation", `select * from conversations as t("+5511911110005") limit 1`, []string{"5511911110005"}, ""},
		{"RENAME", `select * rename (channel as "+5511911110006") from conversations limit 1`, []string{"5511911110006"}, ""},
		{"lambda parameter", `select list_transform([1], "l@m.co" -> "l@m.co" + 1)`, []string{"l@m.co"}, ""},
		{"a numeric constant", `select 5511911110007 as n`, []string{"5511911110007"}, ""},
		{"a refused file path", `select * from '/tmp/p.q@example.org.csv'`, []string{"p.q@example.org"}, ""},
		{"sample seed", `select count(*) from conversations tablesample reservoir(10 rows) repeatable (119111100)`, []string{"119111100"}, ""},
	}
	for _, sh := range shapes {
		_, _ = c.Exec(ctx, sh.sql, pgx.QueryExecModeSimpleProtocol) // errors are audited too
	}
	ca.Flush(ctx)
	pid := c.PgConn().PID()
	recs := tableRecords(t, s, table, pid)
	if len(recs) != len(shapes) {
		t.Fatalf("%d rows in gateway_queries, want %d", len(recs), len(shapes))
	}
	// Compliance is not audited before running here (before is nil), so
	// there is one chain record per query, in order.
	chain := chainRecords(t, dir, pid)[pid]
	if len(chain) != len(shapes) {
		t.Fatalf("%d chain records, want %d", len(chain), len(shapes))
	}
	for i, sh := range shapes {
		r := recs[i]
		noPersonalData(t, sh.name+" in gateway_queries", r.Statement+" "+r.Reason, sh.planted...)
		if strings.Contains(r.Statement, "not shown") || r.Statement == "(unparsed)" {
			t.Errorf("%s: masking lost the query's shape: %q", sh.name, r.Statement)
		}
		t.Logf("%s: %s", sh.name, r.Statement)
		if sh.want != "" && r.Statement != sh.want {
			t.Errorf("%s: gateway_queries has %q, want %q", sh.name, r.Statement, sh.want)
		}
		st, _ := chain[i].Detail["statement"].(string)
		rs, _ := chain[i].Detail["reason"].(string)
		noPersonalData(t, sh.name+" in the chain", st+" "+rs, sh.planted...)
		if st != r.Statement {
			t.Errorf("%s: the chain has %q, gateway_queries %q", sh.name, st, r.Statement)
		}
	}
	if ca.Withheld() != 0 || ca.Lost() != 0 {
		t.Errorf("withheld %d, lost %d: masking alone should pass the chain's check", ca.Withheld(), ca.Lost())
	}
}

// failingChain refuses every append, like a full disk, and counts the
// records it was asked to append before a query ran.
type failingChain struct {
	mu      sync.Mutex
	started int
}

func (f *failingChain) Append(_ context.Context, r audit.Record) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Detail["outcome"] == string(OutcomeStarted) {
		f.started++
	}
	return 0, errors.New("no space left on device")
}

func (f *failingChain) AppendAll(context.Context, []audit.Record) (int64, error) {
	return 0, errors.New("no space left on device")
}

func (f *failingChain) startedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started
}

// TestChainFailureRefusesAuditedFirstQueries: when the chain cannot
// append, a compliance query and any query that unseals are refused, over
// both protocols, and counted; an analyst's query still runs.
func TestChainFailureRefusesAuditedFirstQueries(t *testing.T) {
	fc := &failingChain{}
	s, table, ca, _ := chainSetup(t, fc, []Role{RoleCompliance})
	ctx := context.Background()
	comp, ana := connect(t, s, "comp"), connect(t, s, "ana")
	for i, mode := range []pgx.QueryExecMode{pgx.QueryExecModeSimpleProtocol, pgx.QueryExecModeCacheStatement} {
		var n int64
		err := comp.QueryRow(ctx, "select count(*) from contact_identities", mode).Scan(&n)
		if pgCode(err) != codeSystemError || !strings.Contains(err.Error(), "audit chain") {
			t.Fatalf("%s: compliance query: %v, want SQLSTATE 58000 about the audit chain", mode, err)
		}
		// Buffered records of the refusals are lost as well when the
		// flusher runs, so Lost counts at least the refused queries.
		if got := fc.startedCount(); got != i+1 || ca.Lost() < int64(i+1) {
			t.Fatalf("%s: %d records tried before running, %d lost; want %d and at least that", mode, got, ca.Lost(), i+1)
		}
		// The session goes on, and other roles are not held up.
		if err := ana.QueryRow(ctx, "select count(*) from conversations", mode).Scan(&n); err != nil || n == 0 {
			t.Fatalf("%s: analyst query: %d, %v", mode, n, err)
		}
	}
	if h := ca.Health(); !h.Degraded || h.Lost < 2 || h.LastLost == nil {
		t.Errorf("health %+v, want degraded with at least 2 lost", h)
	}
	// gateway_queries says the compliance queries were refused.
	for _, r := range tableRecords(t, s, table, comp.PgConn().PID()) {
		if r.Outcome != OutcomeRefused || !strings.Contains(r.Reason, "audit chain") {
			t.Errorf("compliance record %+v, want refused for the audit chain", r)
		}
	}
}

// TestChainFailureRefusesUnsealingWhateverTheConfig: with no role
// audited before running, a query that calls an unsealing function still
// is, and is refused when the chain fails.
func TestChainFailureRefusesUnsealingWhateverTheConfig(t *testing.T) {
	fc := &failingChain{}
	s, _, ca, _ := chainSetup(t, fc, nil)
	ctx := context.Background()
	comp := connect(t, s, "comp")
	var n int64
	if err := comp.QueryRow(ctx, "select count(*) from contact_identities").Scan(&n); err != nil {
		t.Fatalf("a compliance query that does not unseal: %v", err)
	}
	err := comp.QueryRow(ctx, "select count(cx_content(event_id, subject_hash, occurred_at, content)) from events").Scan(&n)
	if pgCode(err) != codeSystemError || !strings.Contains(err.Error(), "audit chain") {
		t.Fatalf("unsealing query: %v, want SQLSTATE 58000 about the audit chain", err)
	}
	if fc.startedCount() != 1 || ca.Lost() < 1 {
		t.Errorf("%d records tried before running, %d lost; want 1 and at least 1", fc.startedCount(), ca.Lost())
	}
}

// recordingAuditor keeps what it is handed.
type recordingAuditor struct {
	mu   sync.Mutex
	recs []QueryRecord
}

func (r *recordingAuditor) AuditQuery(_ context.Context, q QueryRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, q)
	return nil
}

// TestOneBadRecordKeepsTheOthers: a buffered record that fails the
// chain's personal-data check is appended with its text withheld, and the
// records buffered with it are appended as they are.
func TestOneBadRecordKeepsTheOthers(t *testing.T) {
	dir := t.TempDir()
	l, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	next := &recordingAuditor{}
	ca := NewChainAuditor(next, l, nil, nil, nil)
	defer ca.Close()
	ctx := context.Background()
	recs := []QueryRecord{
		{User: "lead", Role: RoleLeadership, Session: 1, Statement: "SELECT * FROM kpi_daily", Relations: []string{"main.kpi_daily"}, Outcome: OutcomeOK},
		// As if a mask had missed a shape: the text and the reason carry
		// an e-mail and a phone.
		{User: "ana", Role: RoleAnalyst, Session: 2, Statement: `SELECT 1 AS "leak@example.org"`, Relations: []string{"main.conversations"},
			Outcome: OutcomeError, Code: "22P02", Reason: "conversion of +5511911110010"},
		{User: "comp", Role: RoleCompliance, Session: 3, Statement: "SELECT count_star() FROM contact_identities",
			Relations: []string{"main.contact_identities"}, Outcome: OutcomeOK, Rows: 1},
	}
	for _, q := range recs {
		if err := ca.AuditQuery(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ca.Flush(ctx)
	var got []audit.Record
	if err := audit.ReadRecords(ctx, dir, 0, func(r audit.Record) bool { got = append(got, r); return true }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d records in the chain, want 3", len(got))
	}
	if got[0].Detail["statement"] != recs[0].Statement || got[2].Detail["statement"] != recs[2].Statement {
		t.Errorf("the good records changed: %+v / %+v", got[0].Detail, got[2].Detail)
	}
	bad := got[1]
	if bad.Actor != "ana" || bad.Detail["role"] != "analyst" || bad.Detail["outcome"] != "error" || bad.Detail["withheld"] != true ||
		bad.Detail["statement"] != withheldStatement || strings.Join(toStrings(bad.Detail["relations"]), ",") != "main.conversations" {
		t.Errorf("withheld record: actor %q, detail %+v", bad.Actor, bad.Detail)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	noPersonalData(t, "the chain", string(raw), "leak@example.org", "5511911110010")
	if ca.Withheld() != 1 || ca.Lost() != 0 || ca.Health().Degraded {
		t.Errorf("withheld %d lost %d health %+v; want 1, 0, healthy", ca.Withheld(), ca.Lost(), ca.Health())
	}
	if len(next.recs) != 3 {
		t.Errorf("next auditor got %d records, want 3", len(next.recs))
	}
}

// batchFailingChain refuses batches but takes single records, so that
// one unappendable batch does not lose its records.
type batchFailingChain struct{ *audit.Log }

func (batchFailingChain) AppendAll(context.Context, []audit.Record) (int64, error) {
	return 0, errors.New("batch refused")
}

func TestFailedBatchFallsBackToSingleRecords(t *testing.T) {
	dir := t.TempDir()
	l, err := audit.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ca := NewChainAuditor(&recordingAuditor{}, batchFailingChain{l}, nil, nil, nil)
	defer ca.Close()
	ctx := context.Background()
	for i := range 3 {
		if err := ca.AuditQuery(ctx, QueryRecord{User: "ana", Role: RoleAnalyst, Session: uint32(i), Statement: "SELECT $1", Outcome: OutcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	ca.Flush(ctx)
	if n := l.Len(); n != 3 || ca.Lost() != 0 {
		t.Errorf("%d records appended, %d lost; want 3 and 0", n, ca.Lost())
	}
}

// TestMaskKeepsTheShapeOfOrdinaryQueries: masking fails closed on fields
// it does not know, which must not blank the audit of ordinary queries:
// each of these is recorded as DuckDB's printing of its tree, with the
// warehouse's names in clear.
func TestMaskKeepsTheShapeOfOrdinaryQueries(t *testing.T) {
	s := testServer(t)
	c := connect(t, s, "comp")
	ctx := context.Background()
	queries := []struct{ sql, keeps string }{
		{"select c.channel, count(*) from conversations c join contacts k on k.contact_key = c.contact_key where c.frt_s > 10 group by all order by 2 desc limit 5", "conversations"},
		{"select channel, sum(frt_s) over (partition by channel order by opened_at rows between 1 preceding and current row) from conversations", "opened_at"},
		{"select channel from conversations union all select channel from kpi_daily except select 'x'", "kpi_daily"},
		{"with recursive r(n) as (select 1 union all select n + 1 from r where n < 3) select * from r", "RECURSIVE"},
		{"select (select max(frt_s) from conversations), exists (select 1 from kpi_daily)", "frt_s"},
		{"select * from (values (1, 'a'), (2, 'b')) v(n, s)", "VALUES"},
		{"describe select * from kpi_daily", "kpi_daily"},
		{"select case when escalated then 'yes' else 'no' end, coalesce(csat_score, 0), frt_s between 1 and 2, channel is null from conversations", "csat_score"},
		{"select list_transform([1, 2], lambda x: x + 1), [1, 2][1], {'a': 1}.a", "list_transform"},
		{"select opened_at::date, cast(frt_s as decimal(10, 2)), channel::varchar from conversations", "DECIMAL(10,2)"},
		{"select * from conversations using sample 10 rows", "conversations"},
		{"select distinct on (channel) channel, opened_at from conversations order by channel, opened_at", "DISTINCT ON"},
		{"select channel, count(*) from conversations group by grouping sets ((channel), ())", "GROUPING SETS"},
		{"select count(*) filter (where fcr), string_agg(channel, ',' order by channel) from conversations", "string_agg"},
		{"select * from range(3) r(i), lateral (select i + 1) s(j)", "range"},
	}
	for _, p := range grafanaPanels {
		queries = append(queries, struct{ sql, keeps string }{p.query, "kpi_daily"})
	}
	for _, q := range queries {
		if _, err := c.Exec(ctx, q.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Errorf("%s: %v", q.sql, err)
		}
	}
	recs := auditRows(t, s, c.PgConn().PID())
	if len(recs) != len(queries) {
		t.Fatalf("%d audit records, want %d", len(recs), len(queries))
	}
	for i, q := range queries {
		st := recs[i].Statement
		if strings.Contains(st, "not shown") || !strings.Contains(st, q.keeps) {
			t.Errorf("%s\n  audited as %q, want it printed with %q", q.sql, st, q.keeps)
		}
	}
}

// TestMaskWithNoKnownNamePrints: even when no name is known (the catalog
// could not be read), every shape of DuckDB's tree still prints after
// masking, with no error a client would see, and keeps none of what was
// planted in it.
func TestMaskWithNoKnownNamePrints(t *testing.T) {
	db := testWarehouse(t).DB
	ctx := context.Background()
	for _, q := range []string{
		`select sum(x) over (partition by "ana@example.com" order by x rows between 1 preceding and current row exclude current row) from t`,
		`select sum(x) over (order by x range between interval 1 day preceding and unbounded following) from t`,
		`select x, count(*) filter (where x > 1) from t group by all having count(*) > 1 qualify row_number() over (order by x) = 1`,
		`select * from t asof join t "+5511911110011" on t.x >= "+5511911110011".x`,
		`select * from t anti join t t2 on t.x = t2.x`,
		`select $1, $2, ?`,
		`select $maria`,
		`describe select 1`,
		`select * from (values (1, 'a')) v("+5511911110012", "x@y.z")`,
		`select array[1, 2], map {'a': 1}, [x for x in [1, 2] if x > 1]`,
		`select x from t group by grouping sets ((x), ()), rollup (x), cube (x)`,
		`select * rename (x as "+5511911110013"), * replace (x + 1 as "y@z.co") from t`,
		`select * exclude ("q@r.st") from t`,
		`select 1 from t tablesample reservoir(10 rows) repeatable (119111100)`,
		`select * from (unpivot t on columns(*) into name "k@l.mn" value v)`,
		`pivot t on phone in ('+5511911110014') using count(*)`,
		`select cast(x as enum('+5511911110015')), x::struct("s@t.uv" int), x::union(a int, "u@v.wx" varchar), x::"w@x.yz"`,
		`select struct_pack("b@c.de" := 2), {'e@f.gh': 1}`,
		`select 'a' collate "i@j.kl"`,
		`with recursive "+5511911110016"(n) as (select 1 union all select n + 1 from "+5511911110016" where n < 3) select * from "+5511911110016"`,
		`select * from t at (version => 1)`,
		`select trim(both 'x' from phone), position('a' in phone), extract(year from current_date) from t`,
	} {
		var raw string
		if err := db.QueryRowContext(ctx, "select json_serialize_sql(?::varchar)::varchar", q).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		root, err := decodeAST(raw)
		if err != nil || isTrue(root["error"]) {
			t.Fatalf("%s does not parse: %v %v", q, err, root["error_message"])
		}
		maskForAudit(root, map[string]bool{})
		var out string
		if err := db.QueryRowContext(ctx, "select json_deserialize_sql(?::json)", encodeAST(root)).Scan(&out); err != nil {
			t.Errorf("%s: the masked tree does not print: %v", q, err)
			continue
		}
		noPersonalData(t, "masked "+q, out, "5511911110", "119111100", "maria", "@")
	}
}
