package dashboards

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// The demo-like warehouse every panel test reads: simulated traffic through
// the same assemble-and-write path as ingest (three partitions, with the
// high-water marks a consumer would see, so lag is recorded), governance's
// tables with a few requests, consents and a retention run, and the models
// built over it.

var testKey = []byte("dashboards-test-key-0123456789ab")

const fixtureMessages = 4000

type demo struct {
	wh *warehouse.Warehouse
	gw *gateway.Server
	// days spans the simulated conversations (UTC).
	firstDay, lastDay time.Time
	// ingestedAt is when the batches were written (the pipeline's minute).
	ingestedAt time.Time
}

var (
	fixtureDemo *demo
	fixtureErr  error
	fixtureDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDemo != nil {
		if fixtureDemo.gw != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			fixtureDemo.gw.Shutdown(ctx)
			cancel()
		}
		fixtureDemo.wh.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// demoWarehouse builds the fixture once per test binary.
func demoWarehouse(t *testing.T) *demo {
	t.Helper()
	if fixtureDemo == nil && fixtureErr == nil {
		fixtureDemo, fixtureErr = buildDemo(context.Background())
	}
	if fixtureErr != nil {
		t.Fatalf("building the demo warehouse: %v", fixtureErr)
	}
	return fixtureDemo
}

func buildDemo(ctx context.Context) (*demo, error) {
	dir, err := os.MkdirTemp("", "cxlake-dashboards-")
	if err != nil {
		return nil, err
	}
	fixtureDir = dir
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{HashKey: testKey})
	if err != nil {
		return nil, err
	}
	d := &demo{wh: wh, ingestedAt: time.Now().UTC()}

	// Three partitions; each message knows its partition's final size as
	// the high-water mark, as a consumer reading a full topic would.
	gen := simulate.New(simulate.Config{Seed: 7, PerDay: simulate.PerDayFor(fixtureMessages, 30)})
	msgs := make([]ingest.Message, fixtureMessages)
	var next [3]int64
	for i := range msgs {
		m := gen.Next()
		p := i % 3
		msgs[i] = ingest.Message{Topic: "cx.events", Partition: p, Offset: next[p], Key: m.Key, Value: m.Value}
		next[p]++
	}
	for i := range msgs {
		msgs[i].HighWaterMark = next[msgs[i].Partition]
	}
	var asm ingest.Assembler
	for lo := 0; lo < len(msgs); lo += 500 {
		b := asm.Assemble(msgs[lo:min(lo+500, len(msgs))])
		b.StartedAt = time.Now()
		if _, err := wh.Write(ctx, b); err != nil {
			return nil, fmt.Errorf("writing simulated batch: %w", err)
		}
	}
	// The batches were written within a second; a live stream commits them
	// over time. Spread them 5 minutes apart, the last one now, so the
	// pipeline panels have a series to draw (and to sort).
	for _, q := range []string{
		`update ingest_batches set started_at = started_at - to_minutes(5 * ((select max(batch_id) from ingest_batches) - batch_id)),
			committed_at = committed_at - to_minutes(5 * ((select max(batch_id) from ingest_batches) - batch_id))`,
		`update dead_letters set received_at = received_at - to_minutes(5 * ((select max(batch_id) from ingest_batches) - batch_id))`,
	} {
		if _, err := wh.DB.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("spreading the batches in time: %w", err)
		}
	}
	if err := createGovernance(ctx, wh.DB); err != nil {
		return nil, err
	}
	if _, err := models.Rebuild(ctx, wh.DB, models.Config{HashKey: testKey}); err != nil {
		return nil, fmt.Errorf("building the models: %w", err)
	}
	// The gateway creates gateway_queries; the next refresh sees the new
	// optional source and rebuilds, so the gateway marts read it.
	if err := startGateway(ctx, d); err != nil {
		return nil, err
	}
	st, err := models.Refresh(ctx, wh.DB, models.Config{HashKey: testKey})
	if err != nil {
		return nil, fmt.Errorf("refreshing the models: %w", err)
	}
	if !st.Full {
		return nil, fmt.Errorf("the refresh after gateway_queries appeared did not rebuild")
	}
	if err := seedGatewayAudit(ctx, d); err != nil {
		return nil, err
	}
	if err := wh.DB.QueryRowContext(ctx, "select min(day)::timestamp, max(day)::timestamp from kpi_counts_daily").Scan(&d.firstDay, &d.lastDay); err != nil {
		return nil, err
	}
	return d, nil
}

// createGovernance creates governance's tables as governance/schema.sql
// does and records a few requests, consents and a retention run.
func createGovernance(ctx context.Context, db *sql.DB) error {
	now := time.Now().UTC()
	day := 24 * time.Hour
	stmts := []struct {
		q    string
		args []any
	}{
		{q: `create table if not exists consent_state (contact_key varchar not null, purpose varchar not null,
			granted boolean not null, basis varchar, source varchar, decided_at timestamptz not null,
			event_id varchar not null, enforced_at timestamptz, primary key (contact_key, purpose))`},
		{q: `create table if not exists privacy_requests (request_id varchar primary key, kind varchar not null,
			status varchar not null, subject_hash varchar not null, identifier_kind varchar not null, reason varchar,
			law varchar not null, received_at timestamptz not null, due_at timestamptz not null,
			completed_at timestamptz, audit_index bigint, receipt json, error varchar)`},
		{q: `create table if not exists retention_runs (run_id varchar not null, started_at timestamptz not null,
			finished_at timestamptz not null, as_of timestamptz not null, data_class varchar not null,
			policy_days integer, cutoff timestamptz, location varchar not null, rows_removed bigint not null,
			files_removed integer not null, files_rewritten integer not null, keys_destroyed integer not null,
			audit_index bigint, primary key (run_id, data_class, location))`},
		{q: `insert into privacy_requests (request_id, kind, status, subject_hash, identifier_kind, law, received_at, due_at, completed_at)
			values ('r1', 'erasure', 'completed', 'h1', 'email', 'lgpd', ?, ?, ?),
			       ('r2', 'erasure', 'received', 'h2', 'phone', 'gdpr', ?, ?, null),
			       ('r3', 'access', 'completed', 'h3', 'email', 'lgpd', ?, ?, ?)`,
			args: []any{now.Add(-10 * day), now.Add(5 * day), now.Add(-10*day + 3*time.Hour),
				now.Add(-40 * day), now.Add(-10 * day),
				now.Add(-3 * day), now.Add(12 * day), now.Add(-2 * day)}},
		{q: `insert into consent_state values
			('k1', 'analytics', true, 'consent', 'app', ?, 'e1', ?),
			('k2', 'marketing', false, 'consent', 'app', ?, 'e2', null)`,
			args: []any{now.Add(-5 * day), now.Add(-5 * day), now.Add(-day)}},
		{q: `insert into retention_runs values ('run-1', ?, ?, ?, 'message_text', 180, ?, 'duckdb:events', 42, 0, 0, 0, 9)`,
			args: []any{now.Add(-2*day - time.Minute), now.Add(-2 * day), now.Add(-2 * day), now.Add(-182 * day)}},
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("creating governance fixtures: %w", err)
		}
	}
	return nil
}

// seedGatewayAudit queries the gateway as an analyst (allowed), and as
// grafana for a relation it may not read (refused), so that the
// compliance dashboard's gateway panels have rows, then flushes the audit.
func seedGatewayAudit(ctx context.Context, d *demo) error {
	for _, q := range []struct{ user, sql string }{
		{"ana", "select count(*) from conversations"},
		{"ana", "select sum(conversations) from kpi_daily"},
		{"grafana", "select count(*) from conversations"},
	} {
		db, err := gatewayDB(d, q.user)
		if err != nil {
			return err
		}
		var n any
		err = db.QueryRowContext(ctx, q.sql).Scan(&n)
		db.Close()
		if q.user == "grafana" && err == nil {
			return fmt.Errorf("the gateway let grafana read conversations")
		}
		if q.user != "grafana" && err != nil {
			return fmt.Errorf("seeding the gateway audit: %w", err)
		}
	}
	return flushAudit(ctx, d)
}
