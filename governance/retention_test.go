package governance_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	// Registers the gateway's tables (gateway_queries, gateway_logins), so
	// the schema walked below is a whole data directory's.
	_ "github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/privacy"
)

func TestRetention(t *testing.T) {
	ctx := context.Background()
	cfg := governance.Defaults()
	cfg.Retention = governance.Retention{MessageText: 30 * governance.Day, RawEvents: 60 * governance.Day,
		DeadLetters: 10 * governance.Day, Audit: 365 * governance.Day}
	// Ingest under the default policy: the data ages after it is stored.
	e := newEnv(t, governance.Defaults())
	now := time.Now().UTC()
	ages := []int{5, 20, 40, 70, 90}
	var msgs []kafka.Message
	for _, age := range ages {
		at := now.AddDate(0, 0, -age).Truncate(time.Hour)
		for i, ch := range []string{"whatsapp", "email", "whatsapp"} {
			contact := fmt.Sprintf(`{"phone":"+55119%08d"}`, age*10+i)
			msgs = append(msgs, canonical(fmt.Sprintf("age%d-%d", age, i), "message", at.Add(time.Duration(i)*time.Minute), ch,
				fmt.Sprintf("conv-%d-%d", age, i), contact, fmt.Sprintf(`,"message":{"direction":"inbound","text":"texto-dia-%d"}`, age)))
		}
	}
	// Producer free text on a day past raw_events, in a conversation whose
	// id is built from the phone: after the run, no file of the data
	// directory (cxlake.duckdb included) may hold any of it (issue 24).
	freeAt := now.AddDate(0, 0, -70).Truncate(time.Hour).Add(10 * time.Minute)
	msgs = append(msgs, canonical("free70", "handoff", freeAt, "whatsapp", "wa-5511911110001", `{"phone":"+5511911110001"}`,
		`,"handoff":{"reason":"motivo-rosalinda-3141","to_team":"billing","summary":"s","fields":{"a":"b"},`+
			`"next_action":"ligar para Rosalinda no +5511911110001","owner":"Dono Rosalinda-2718","sla_seconds":60}`))
	freeText := []string{"motivo-rosalinda-3141", "ligar para Rosalinda", "5511911110001", "Dono Rosalinda-2718"}
	msgs = append(msgs, kafka.Message{Value: []byte(`{"not":"an event"`)})
	e.produce(msgs...)
	e.consume("g", int64(len(msgs)))
	e.refresh()
	count := func(age int, extra string) int64 {
		return e.count(fmt.Sprintf(`select count(*) from events where event_id like 'age%d-%%' %s`, age, extra))
	}
	lakeCount := func(age int) int64 {
		return e.count(fmt.Sprintf(`select count(*) from read_parquet('%s/lake/events/**/*.parquet') where event_id like 'age%d-%%'`, e.dir, age))
	}
	for _, age := range ages {
		if count(age, "and content is not null") != 3 || lakeCount(age) != 3 {
			t.Fatalf("fixture: day %d not stored whole", age)
		}
	}
	if hits := grep(t, e.dir, []string{"marker-team-5150"}); len(hits) == 0 {
		t.Fatal("the byte search finds nothing in clear; it would prove nothing")
	}
	if hits := grep(t, e.dir, freeText); len(hits) > 0 {
		t.Fatalf("producer free text in clear before retention: %v", hits)
	}
	gov, err := governance.New(ctx, e.wh, e.audit, cfg, models.Config{}, e.log)
	if err != nil {
		t.Fatal(err)
	}
	e.gov = gov

	rep, err := e.gov.RunRetention(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, age := range []int{5, 20} { // younger than every policy: intact
		if count(age, "and content is not null") != 3 || lakeCount(age) != 3 {
			t.Errorf("day -%d lost data", age)
		}
		if _, ok := e.wh.Keys().Get(privacy.DayID(privacy.ClassContent, now.AddDate(0, 0, -age).Format(time.DateOnly))); !ok {
			t.Errorf("day -%d lost its content key", age)
		}
	}
	// Past message_text (30d), within raw_events (60d): facts stay, text goes.
	if count(40, "") != 3 || count(40, "and content is not null") != 0 || lakeCount(40) != 3 {
		t.Errorf("day -40: %d rows, %d with content, %d in the lake; want 3, 0, 3", count(40, ""), count(40, "and content is not null"), lakeCount(40))
	}
	if _, ok := e.wh.Keys().Get(privacy.DayID(privacy.ClassContent, now.AddDate(0, 0, -40).Format(time.DateOnly))); ok {
		t.Error("day -40's content key survived")
	}
	// Past raw_events: gone from DuckDB and the lake, with their identifiers.
	for _, age := range []int{70, 90} {
		if count(age, "") != 0 || lakeCount(age) != 0 {
			t.Errorf("day -%d: %d rows in DuckDB, %d in the lake after retention", age, count(age, ""), lakeCount(age))
		}
	}
	if n := e.count(`select count(*) from identifiers where cx_identifier_value(identifier_hash, sealed_value) like '+551190000%'
		and (cx_identifier_value(identifier_hash, sealed_value) like '%070_' or cx_identifier_value(identifier_hash, sealed_value) like '%090_')`); n != 0 {
		t.Errorf("%d identifiers of expired events remain", n)
	}
	// Dead letters were received just now: intact.
	if n := e.count(`select count(*) from dead_letters`); n != 1 {
		t.Errorf("%d dead letters, want 1", n)
	}
	// The run is recorded: what, where, how much.
	// message_text runs first: the texts of days -40, -70 and -90 go, then
	// the rows of -70 and -90.
	// The handoff with free text (free70) is one more on day -70.
	want := map[string]int64{"message_text duckdb:events": 10, "raw_events duckdb:events": 7, "raw_events lake": 7, "dead_letters duckdb:dead_letters": 0}
	for k, n := range want {
		var got int64
		if err := e.wh.DB.QueryRow(`select rows_removed from retention_runs where run_id = ? and data_class || ' ' || location = ?`, rep.RunID, k).Scan(&got); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if got != n {
			t.Errorf("retention_runs %s removed %d, want %d", k, got, n)
		}
	}
	var rec audit.Record
	audit.ReadRecords(ctx, e.dir+"/audit", rep.AuditIndex, func(r audit.Record) bool { rec = r; return false })
	if rec.Kind != audit.KindRetentionRun {
		t.Errorf("audit record %d is %q", rep.AuditIndex, rec.Kind)
	}
	// A replay of the topic, plus a late event as old, drops them as
	// expired rather than storing them again.
	old := canonical("age90-late", "conversation_opened", now.AddDate(0, 0, -90), "whatsapp", "late", `{"phone":"+5511900000999"}`, "")
	e.produce(old)
	st := e.consume("late", int64(len(msgs))+1)
	if st.Expired.Load() != 8 || st.Accepted.Load() != 0 {
		t.Errorf("replay: expired %d, accepted %d; want 8 (days -70 with free70, -90 and the late one) and 0", st.Expired.Load(), st.Accepted.Load())
	}
	// Every file of the data directory, cxlake.duckdb after a checkpoint
	// included, is free of the expired free text.
	if _, err := e.wh.DB.Exec("checkpoint"); err != nil {
		t.Fatal(err)
	}
	if hits := grep(t, e.dir, freeText); len(hits) > 0 {
		t.Errorf("producer free text in clear after retention: %v", hits)
	}
	// The models follow the removal at their next refresh.
	e.refresh()
	if n := e.count(`select count(*) from conversations where conversation_id like 'conv-70-%' or conversation_id like 'conv-90-%'`); n != 0 {
		t.Errorf("%d conversations of expired events remain in the models", n)
	}

	// Fifteen days later the dead letter is past its 10 days; the audit
	// log stays within its year, and still verifies.
	if _, err := e.audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gov.RunRetention(ctx, now.AddDate(0, 0, 15)); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`select count(*) from dead_letters`); n != 0 {
		t.Errorf("%d dead letters survived their retention", n)
	}
	if _, err := audit.Verify(ctx, e.dir+"/audit", audit.VerifyOptions{}); err != nil {
		t.Fatal(err)
	}
	// A year and more later, the audit records go (their hashes stay),
	// and the audit_log mirror and the query audit follow them.
	e.audit.Checkpoint(ctx)
	if _, err := e.gov.MirrorAudit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.wh.DB.Exec(`insert into gateway_queries values (?, 1, 'analyst1', 'analyst', 'select 1', [], 'ok', '00000', null, 1, 1.0)`, now.AddDate(0, 0, -2)); err != nil {
		t.Fatal(err)
	}
	rep2, err := e.gov.RunRetention(ctx, now.AddDate(0, 0, 400))
	if err != nil {
		t.Fatal(err)
	}
	var pruned int64
	for _, r := range rep2.Runs {
		if r.Class == governance.ClassAudit && r.Location == "audit" {
			pruned = r.RowsRemoved
		}
	}
	if pruned == 0 {
		t.Error("no audit record pruned after their retention")
	}
	var kept int64 = -1
	audit.ReadRecords(ctx, e.dir+"/audit", 0, func(r audit.Record) bool { kept = r.Index; return false })
	if kept <= 0 {
		t.Fatalf("the first kept audit record is %d after pruning %d", kept, pruned)
	}
	if n := e.count(`select count(*) from audit_log where audit_index < ?`, kept); n != 0 {
		t.Errorf("the audit_log mirror keeps %d records the log pruned", n)
	}
	if n := e.count(`select count(*) from gateway_queries`); n != 0 {
		t.Errorf("%d query audit rows survived the audit retention", n)
	}
	e.audit.Checkpoint(ctx)
	vr, err := audit.Verify(ctx, e.dir+"/audit", audit.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if vr.Pruned != pruned {
		t.Errorf("verify reports %d pruned, retention %d", vr.Pruned, pruned)
	}
}

// TestEveryTableHasARetentionClass walks the schema of a data directory
// with every component's tables and the models built: each stored table
// has a retention class (governance.TableClasses) or is a model, so a new
// table without a class fails here.
func TestEveryTableHasARetentionClass(t *testing.T) {
	e := newEnv(t, governance.Defaults())
	e.produce(canonical("c-1", "message", time.Now().UTC().Add(-time.Hour), "whatsapp", "conv-1", `{"phone":"+5511900000001"}`,
		`,"message":{"direction":"inbound","text":"oi"}`))
	e.consume("g", 1)
	e.refresh()
	derived, err := models.Relations()
	if err != nil {
		t.Fatal(err)
	}
	isModel := map[string]bool{}
	for _, m := range derived {
		isModel[m] = true
	}
	rows, err := e.wh.DB.Query(`select table_name from duckdb_tables() where not temporary and not internal order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var tables, missing []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
		if _, ok := governance.TableClasses[name]; !ok && !isModel[name] {
			missing = append(missing, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The walk must have seen the tables of every component and a model,
	// or it proves nothing.
	seen := map[string]bool{}
	for _, n := range tables {
		seen[n] = true
	}
	for _, n := range []string{"events", "consent_state", "gateway_queries", "schema_migrations", "models_state", "int_conversations_aggregated"} {
		if !seen[n] {
			t.Errorf("the schema walk did not see %s (saw %v)", n, tables)
		}
	}
	if len(missing) > 0 {
		t.Errorf("tables without a retention class (add them to governance.TableClasses and docs/governance.md): %v", missing)
	}
	for name, class := range governance.TableClasses {
		if !seen[name] {
			t.Errorf("TableClasses names %s (%s), which the schema does not have", name, class)
		}
	}
}
