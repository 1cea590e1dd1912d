package models

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"
)

// optionalFixtures create the optional source tables with the columns the
// staging models read, as governance's and the gateway's migrations
// (governance/migrations, gateway/migrations) create them. A binary that
// links those packages always has them; the models build without them.
var optionalFixtures = []string{
	`create table privacy_requests (request_id varchar primary key, kind varchar not null, status varchar not null,
		subject_hash varchar not null, identifier_kind varchar not null, reason varchar, law varchar not null,
		received_at timestamptz not null, due_at timestamptz not null, completed_at timestamptz,
		audit_index bigint, receipt json, error varchar)`,
	`create table consent_state (contact_key varchar not null, purpose varchar not null, granted boolean not null,
		basis varchar, source varchar, decided_at timestamptz not null, event_id varchar not null,
		enforced_at timestamptz, primary key (contact_key, purpose))`,
	`create table retention_runs (run_id varchar not null, started_at timestamptz not null, finished_at timestamptz not null,
		as_of timestamptz not null, data_class varchar not null, policy_days integer, cutoff timestamptz,
		location varchar not null, rows_removed bigint not null, files_removed integer not null,
		files_rewritten integer not null, keys_destroyed integer not null, audit_index bigint,
		primary key (run_id, data_class, location))`,
	`create table audit_verifications (verified_at timestamptz not null, passed boolean not null, records bigint,
		pruned bigint, checkpoints integer, checkpoint_size bigint, checkpoint_at timestamptz, uncovered bigint,
		failure varchar, failure_index bigint)`,
	`create table gateway_queries (received_at timestamptz not null, session_id bigint not null, user_name varchar not null,
		role varchar not null, statement varchar not null, relations varchar[] not null, outcome varchar not null,
		sqlstate varchar not null, reason varchar, row_count bigint not null, duration_ms double not null)`,
	`create table gateway_chain_losses (lost_at timestamptz not null, received_at timestamptz not null, session_id bigint not null,
		user_name varchar not null, role varchar not null, outcome varchar not null, reason varchar not null, fingerprint varchar not null)`,
}

// describe returns "name type" per column of relation.
func describe(t *testing.T, db *sql.DB, relation string) []string {
	t.Helper()
	return column(t, db, "select column_name || ' ' || data_type from duckdb_columns() where table_name = ? and schema_name = 'main' order by column_index", relation)
}

// TestOptionalSourcesKeepTheirColumns builds the project in a warehouse
// without governance's and the gateway's tables, then again once they
// exist: the staging models over them must have the same columns and types
// either way, the first build must read them as empty, and a Refresh
// must notice the new tables (a changed fingerprint) without a new batch.
func TestOptionalSourcesKeepTheirColumns(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	var offset int64
	for _, b := range goldenBatches() {
		writeJSON(t, w, &offset, b...)
	}
	if _, err := Refresh(ctx, w.DB, testConfig()); err != nil {
		t.Fatal(err)
	}
	p, err := theProject()
	if err != nil {
		t.Fatal(err)
	}
	optional := p.optionalSources()
	if strings.Join(optional, ",") != "audit_verifications,consent_state,gateway_chain_losses,gateway_queries,privacy_requests,retention_runs" {
		t.Fatalf("optional sources = %v", optional)
	}
	var staging []string
	for _, m := range p.models {
		if len(m.optional) > 0 {
			staging = append(staging, m.name)
		}
	}
	before := map[string][]string{}
	for _, m := range staging {
		before[m] = describe(t, w.DB, m)
		if len(before[m]) == 0 {
			t.Fatalf("%s was not built without its source", m)
		}
	}
	for _, m := range []string{"privacy_requests_daily", "consent_daily", "retention_results", "gateway_access_hourly", "gateway_relations_hourly", "audit_chain_checks", "audit_chain_losses_hourly"} {
		checkCount(t, w.DB, "select count(*) from "+m, 0)
	}

	for _, q := range optionalFixtures {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC()
	day := 24 * time.Hour
	for _, q := range []struct {
		sql  string
		args []any
	}{
		// one erasure completed on time, one open and overdue, one access request open within its deadline
		{`insert into privacy_requests (request_id, kind, status, subject_hash, identifier_kind, law, received_at, due_at, completed_at)
			values ('r1', 'erasure', 'completed', 'h1', 'email', 'lgpd', ?, ?, ?)`, []any{now.Add(-10 * day), now.Add(5 * day), now.Add(-9 * day)}},
		{`insert into privacy_requests (request_id, kind, status, subject_hash, identifier_kind, law, received_at, due_at)
			values ('r2', 'erasure', 'received', 'h2', 'phone', 'lgpd', ?, ?)`, []any{now.Add(-20 * day), now.Add(-5 * day)}},
		{`insert into privacy_requests (request_id, kind, status, subject_hash, identifier_kind, law, received_at, due_at)
			values ('r3', 'access', 'received', 'h3', 'email', 'gdpr', ?, ?)`, []any{now.Add(-day), now.Add(3 * day)}},
		{`insert into consent_state values ('k1', 'marketing', false, 'consent', 'app', ?, 'e1', null), ('k2', 'marketing', true, 'consent', 'app', ?, 'e2', ?)`,
			[]any{now.Add(-day), now.Add(-day), now}},
		{`insert into retention_runs values ('run1', ?, ?, ?, 'message_text', 180, ?, 'duckdb:events', 12, 0, 0, 0, 7)`,
			[]any{now.Add(-time.Minute), now, now, now.Add(-180 * day)}},
		{`insert into audit_verifications values (?, true, 120, 0, 3, 118, ?, 2, null, null), (?, false, 130, 0, 4, 128, ?, 2, 'tampered', 57)`,
			[]any{now.Add(-time.Hour), now.Add(-time.Hour - time.Minute), now, now.Add(-10 * time.Minute)}},
		{`insert into gateway_queries values (?, 1, 'grafana', 'grafana', 'select $1', ['main.kpi_daily'], 'ok', '00000', null, 10, 2.5),
			(?, 1, 'grafana', 'grafana', 'select $1', ['main.conversations'], 'refused', '42501', 'not allowed', 0, 0.1)`,
			[]any{now, now}},
		// Three lost records in one hour: two of the same statement by
		// ana (one append failure, one refused by the check), one other
		// statement by ana; and one in the next hour by comp.
		{`insert into gateway_chain_losses values
			(timestamptz '2026-10-01 10:05:00+00', timestamptz '2026-10-01 10:04:59+00', 7, 'ana', 'analyst', 'ok', 'append_failed', 'aaaaaaaaaaaaaaaa'),
			(timestamptz '2026-10-01 10:20:00+00', timestamptz '2026-10-01 10:19:59+00', 7, 'ana', 'analyst', 'ok', 'append_failed', 'aaaaaaaaaaaaaaaa'),
			(timestamptz '2026-10-01 10:40:00+00', timestamptz '2026-10-01 10:39:59+00', 8, 'ana', 'analyst', 'ok', 'append_failed', 'bbbbbbbbbbbbbbbb'),
			(timestamptz '2026-10-01 10:50:00+00', timestamptz '2026-10-01 10:49:59+00', 8, 'ana', 'analyst', 'error', 'refused_by_check', 'bbbbbbbbbbbbbbbb'),
			(timestamptz '2026-10-01 11:01:00+00', timestamptz '2026-10-01 11:00:59+00', 9, 'comp', 'compliance', 'started', 'append_failed', 'cccccccccccccccc')`, nil},
	} {
		if _, err := w.DB.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	st, err := Refresh(ctx, w.DB, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Full {
		t.Fatalf("a Refresh after the optional sources appeared did not rebuild (reason %q)", st.Reason)
	}
	for _, m := range staging {
		if got := describe(t, w.DB, m); strings.Join(got, ", ") != strings.Join(before[m], ", ") {
			t.Errorf("%s has columns\n  %v\nover its source, but\n  %v\nwithout it", m, got, before[m])
		}
	}
	checkCount(t, w.DB, "select sum(open_overdue) from privacy_requests_daily where kind = 'erasure'", 1)
	checkCount(t, w.DB, "select sum(completed_on_time) from privacy_requests_daily", 1)
	checkCount(t, w.DB, "select sum(open_within_deadline) from privacy_requests_daily where kind = 'access'", 1)
	checkCount(t, w.DB, "select sum(open_due_within_7d) from privacy_requests_daily", 1)
	checkCount(t, w.DB, "select round(max(completion_max_s)) from privacy_requests_daily", 86400)
	checkCount(t, w.DB, "select sum(decisions) from consent_daily where purpose = 'marketing' and not granted", 1)
	checkCount(t, w.DB, "select sum(not_enforced) from consent_daily", 1)
	checkCount(t, w.DB, "select sum(rows_removed) from retention_results", 12)
	checkCount(t, w.DB, "select sum(queries) from gateway_access_hourly where role = 'grafana'", 2)
	checkCount(t, w.DB, "select failure_index from audit_chain_checks where not passed", 57)
	checkCount(t, w.DB, "select round(checkpoint_age_s) from audit_chain_checks where passed", 60)
	checkCount(t, w.DB, "select sum(refused) from gateway_relations_hourly where relation = 'main.conversations'", 1)
	checkCount(t, w.DB, "select records * 10 + statements from audit_chain_losses_hourly where user_name = 'ana' and reason = 'append_failed'", 32)
	checkCount(t, w.DB, "select count(*) from audit_chain_losses_hourly", 3)
	checkCount(t, w.DB, "select records from audit_chain_losses_hourly where outcome = 'started' and hour = timestamptz '2026-10-01 11:00:00+00'", 1)
	if failures, err := Test(ctx, w.DB); err != nil || len(failures) > 0 {
		t.Fatalf("data tests: %v %v", failures, err)
	}
}
