package models

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// snapshot renders a model's rows as sorted text lines, for exact comparison.
func snapshot(tb testing.TB, db *sql.DB, table, orderBy string) []string {
	tb.Helper()
	rows, err := db.Query(fmt.Sprintf("select columns(*)::varchar from %s order by %s", table, orderBy))
	if err != nil {
		tb.Fatalf("reading %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			if v.Valid {
				b.WriteString(v.String)
			} else {
				b.WriteString("∅")
			}
		}
		out = append(out, b.String())
	}
	return out
}

var compared = []struct{ table, order string }{
	{"conversations", "conversation_id"},
	{"kpi_daily", "day, channel"},
	{"kpi_daily_team", "day, channel, team"},
	{"kpi_daily_agent", "day, channel, team, actor_key"},
	{"kpi_counts_daily", "day, channel, team, handled_by"},
	{"kpi_counts_quarter_hourly", "bucket_at, channel, team, handled_by"},
	{"int_contacts_summarized", "contact_key"},
	{"contact_identities", "identifier_kind, identifier_value"},
	{"int_conversations_business_timed", "conversation_id"},
	{"int_conversations_followed_up", "conversation_id"},
	{"int_conversations_repeated", "conversation_id"},
}

func compareModels(t *testing.T, a, b *sql.DB) {
	t.Helper()
	for _, c := range compared {
		x, y := snapshot(t, a, c.table, c.order), snapshot(t, b, c.table, c.order)
		if len(x) != len(y) {
			t.Errorf("%s: %d rows vs %d rows", c.table, len(x), len(y))
		}
		diffs := 0
		for i := 0; i < len(x) && i < len(y); i++ {
			if x[i] != y[i] {
				if diffs < 3 {
					t.Errorf("%s row %d differs:\n  %s\n  %s", c.table, i, x[i], y[i])
				}
				diffs++
			}
		}
		if diffs > 0 {
			t.Errorf("%s: %d rows differ", c.table, diffs)
		}
	}
}

// simulatedBatches returns about n simulated events cut into batches.
func simulatedBatches(n, batchSize int) [][]warehouse.Record {
	g := simulate.New(simulate.Config{Seed: 7, PerDay: simulate.PerDayFor(int64(n), 30)})
	var dec event.Decoder
	var out [][]warehouse.Record
	var cur []warehouse.Record
	for i := 0; i < n; i++ {
		m := g.Next()
		ev, err := dec.Decode(m.Value)
		if err != nil {
			continue
		}
		cur = append(cur, warehouse.Record{Event: ev, Topic: "sim", Partition: 0, Offset: int64(i)})
		if len(cur) == batchSize {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// TestIncrementalEqualsRebuild loads the same events into two warehouses,
// batch by batch: one is refreshed after every batch, the other rebuilt
// once at the end. The models must be identical, row for row.
func TestIncrementalEqualsRebuild(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	cfg.PerAgent = true                // kpi_daily_agent too
	cfg.Cost = IllustrativeCostModel() // conversations.cost and the cost figures too
	cfg.Schedules = map[string]Schedule{
		"channel:email": {TZ: "America/Sao_Paulo", Weekly: map[time.Weekday][][2]string{
			time.Monday: {{"09:00", "18:00"}}, time.Tuesday: {{"09:00", "18:00"}}, time.Wednesday: {{"09:00", "18:00"}},
			time.Thursday: {{"09:00", "18:00"}}, time.Friday: {{"09:00", "12:00"}, {"13:00", "17:00"}}}},
		"team:billing": {TZ: "Europe/Lisbon", Weekly: map[time.Weekday][][2]string{
			time.Monday: {{"08:00", "20:00"}}, time.Saturday: {{"10:00", "14:00"}}}},
	}
	batches := simulatedBatches(30000, 1500)
	// Arrive out of order: every other pair of batches is swapped, so events
	// land after events that happen later than them.
	for i := 0; i+1 < len(batches); i += 4 {
		batches[i], batches[i+1] = batches[i+1], batches[i]
	}
	inc, full := openWarehouse(t), openWarehouse(t)
	// The clock moves with the data, as a live warehouse's does: windows
	// and deadlines pass between refreshes, and the incremental builds
	// must re-judge the conversations they close.
	var clock time.Time
	cfg.Now = func() time.Time { return clock }
	for i, recs := range batches {
		for _, w := range []*warehouse.Warehouse{inc, full} {
			if _, err := w.Write(ctx, &warehouse.Batch{Records: recs, StartedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := inc.DB.QueryRow("select max(occurred_at) from events").Scan(&clock); err != nil {
			t.Fatal(err)
		}
		st := mustBuild(t, inc, cfg, false)
		if i > 0 && st.Full {
			t.Fatalf("refresh %d rebuilt fully: %s", i, st.Reason)
		}
	}
	mustBuild(t, full, cfg, true)
	mustPassDataTests(t, inc)
	mustPassDataTests(t, full)
	compareModels(t, inc.DB, full.DB)
	var agentRows int
	if err := inc.DB.QueryRow("select count(*) from kpi_daily_agent").Scan(&agentRows); err != nil || agentRows == 0 {
		t.Errorf("kpi_daily_agent has %d rows (%v): the comparison proves nothing for it", agentRows, err)
	}
	// Repetition: both values of both columns occur, so the comparison
	// covers them; and the simulator's customers repeat themselves more
	// after a handoff without context (simulate/: they re-explain to the
	// agent), and answer CSAT lower when they did.
	var hTrue, hFalse, sTrue, sFalse int
	var withCtx, withoutCtx, csatRepeated, csatNot sql.NullFloat64
	if err := inc.DB.QueryRow(`select
			count(*) filter (where repeated_after_handoff), count(*) filter (where not repeated_after_handoff),
			count(*) filter (where repeated_after_switch), count(*) filter (where not repeated_after_switch),
			avg(repeated_after_handoff::int) filter (where handoff_has_context),
			avg(repeated_after_handoff::int) filter (where not handoff_has_context),
			avg(csat_score) filter (where repeated_after_handoff),
			avg(csat_score) filter (where not repeated_after_handoff)
		from conversations`).Scan(&hTrue, &hFalse, &sTrue, &sFalse, &withCtx, &withoutCtx, &csatRepeated, &csatNot); err != nil {
		t.Fatal(err)
	}
	t.Logf("repeated_after_handoff %d true, %d false (rate %.3f with context, %.3f without; CSAT %.2f repeated, %.2f not); repeated_after_switch %d true, %d false",
		hTrue, hFalse, withCtx.Float64, withoutCtx.Float64, csatRepeated.Float64, csatNot.Float64, sTrue, sFalse)
	if hTrue == 0 || hFalse == 0 || sTrue == 0 || sFalse == 0 {
		t.Errorf("repetition: handoff %d true %d false, switch %d true %d false: want each > 0", hTrue, hFalse, sTrue, sFalse)
	}
	if !(withoutCtx.Float64 > withCtx.Float64+0.2) || !(csatRepeated.Float64 < csatNot.Float64) {
		t.Errorf("repeat rate %.3f without handoff context vs %.3f with; CSAT %.2f repeated vs %.2f not: the simulator should show incomplete handoffs, more repetition, lower CSAT",
			withoutCtx.Float64, withCtx.Float64, csatRepeated.Float64, csatNot.Float64)
	}

	// A second rebuild of the same data gives the same keys and KPIs.
	mustBuild(t, full, cfg, true)
	mustBuild(t, inc, cfg, true)
	compareModels(t, inc.DB, full.DB)
}

// A data directory built by an earlier version, where conversations was a
// table (it is now a view) and int_conversations_joined did not exist as a
// table, rebuilds without error.
func TestRebuildReplacesARelationOfTheOtherKind(t *testing.T) {
	ctx := context.Background()
	w := openWarehouse(t)
	loadSimulated(t, w, 2000, 500)
	if _, err := Rebuild(ctx, w.DB, testConfig()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"drop view conversations",
		"create table conversations as select 'old' as conversation_id",
		"drop table int_conversations_joined",
		"create view int_conversations_joined as select 1 as x",
	} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := Rebuild(ctx, w.DB, testConfig()); err != nil {
		t.Fatalf("rebuild over relations of the other kind: %v", err)
	}
	var kind string
	if err := w.DB.QueryRow(`select table_type from information_schema.tables where table_name = 'conversations'`).Scan(&kind); err != nil || kind != "VIEW" {
		t.Fatalf("conversations is %q (%v), want a VIEW", kind, err)
	}
	mustPassDataTests(t, w)
}
