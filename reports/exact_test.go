package reports

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// independentKPIs computes kpi_daily's figures directly over the
// conversations mart (and, for CSAT and NPS, the surveys answered outside a
// conversation, on the day answered, as docs/models.md defines them), for
// the UTC days from..to and the condition cond on a conversation (columns
// channel, team, handled; "true" for all). It shares nothing with the
// report's SQL: no kpi_counts_daily, no models.KPIFigures.
const independentKPIs = `
with c as (
    select * replace (coalesce(team, 'none') as team),
        case when bot_handled and not escalated then 'bot' else 'human' end as handled
    from conversations
    where (opened_at at time zone 'UTC')::date between cast($1 as date) and cast($2 as date)
),
filtered as (
    select * from c where %COND%
),
standalone as (
    select
        coalesce(channel, 'none') as channel, 'none' as team, 'none' as handled,
        case when survey_kind = 'csat' then survey_score end as csat_score,
        case when survey_kind = 'nps' then survey_score end as nps_score
    from events
    where type = 'survey' and conversation_id is null
      and (occurred_at at time zone 'UTC')::date between cast($1 as date) and cast($2 as date)
),
surveys as (
    select csat_score, nps_score from filtered
    union all
    select csat_score, nps_score from standalone where %COND%
)
select
    (select count(*) from filtered) as conversations,
    (select quantile_cont(frt_s, 0.5) from filtered) as frt_p50_s,
    (select quantile_cont(frt_s, 0.9) from filtered) as frt_p90_s,
    (select quantile_cont(agent_frt_s, 0.5) from filtered) as agent_frt_p50_s,
    (select quantile_cont(agent_frt_s, 0.9) from filtered) as agent_frt_p90_s,
    (select count(*) filter (where bot_handled and escalated)::double / nullif(count(*) filter (where bot_handled), 0) from filtered) as escalation_rate,
    (select count(*) filter (where bot_handled and resolved_at is not null and not escalated)::double
        / nullif(count(*) filter (where bot_handled and resolved_at is not null), 0) from filtered) as containment_rate,
    (select quantile_cont(resolution_s, 0.5) from filtered) as resolution_p50_s,
    (select count(*) filter (where first_resolved_at is not null and reopened)::double
        / nullif(count(*) filter (where first_resolved_at is not null), 0) from filtered) as reopen_rate,
    (select count(*) filter (where fcr)::double / nullif(count(fcr), 0) from filtered) as fcr_rate,
    (select count(*) filter (where recontact_other_channel)::double / nullif(count(recontact_other_channel), 0) from filtered) as recontact_rate,
    (select count(*) filter (where handoff_at is not null and handoff_has_context)::double
        / nullif(count(handoff_has_context) filter (where handoff_at is not null), 0) from filtered) as handoff_context_rate,
    (select count(*) filter (where csat_score >= 4)::double / nullif(count(csat_score), 0) from surveys) as csat_share,
    (select count(csat_score) from surveys) as csat_responses,
    (select 100 * (count(*) filter (where nps_score >= 9) - count(*) filter (where nps_score <= 6))::double
        / nullif(count(nps_score), 0) from surveys) as nps,
    (select count(nps_score) from surveys) as nps_responses,
    (select count(*) filter (where sla_breached)::double / nullif(count(sla_breached), 0) from filtered) as sla_breach_rate,
    (select count(*) filter (where bot_handled) from filtered) as bot_handled_conversations,
    (select count(*) filter (where resolved_at is not null) from filtered) as resolved_conversations,
    (select count(fcr) from filtered) as fcr_known_conversations,
    -- means: the durations' total in whole microseconds over their number
    (select sum(cast(round(frt_s * 1e6) as bigint))::double / nullif(count(frt_s), 0) / 1e6 from filtered) as frt_mean_s,
    (select sum(cast(round(agent_frt_s * 1e6) as bigint))::double / nullif(count(agent_frt_s), 0) / 1e6 from filtered) as agent_frt_mean_s,
    (select sum(cast(round(resolution_s * 1e6) as bigint))::double / nullif(count(resolution_s), 0) / 1e6 from filtered) as resolution_mean_s,
    (select count(resolution_s) from filtered) as resolution_mean_s_n,
    (select quantile_cont(r, 0.5) from (select unnest(reply_time_s_values) as r from filtered)) as reply_time_p50_s,
    (select quantile_cont(r, 0.9) from (select unnest(reply_time_s_values) as r from filtered)) as reply_time_p90_s,
    (select sum(cast(round(r * 1e6) as bigint))::double / nullif(count(r), 0) / 1e6
        from (select unnest(reply_time_s_values) as r from filtered)) as reply_time_mean_s,
    (select coalesce(sum(reply_waits), 0)::bigint from filtered) as reply_waits,
    (select quantile_cont(resolution_business_s, 0.5) from filtered) as resolution_business_p50_s,
    (select count(*) filter (where handoff_sla_met)::double / nullif(count(handoff_sla_met), 0) from filtered) as handoff_sla_met_rate,
    (select count(handoff_sla_met) from filtered) as handoff_sla_met_rate_n,
    (select count(*) filter (where repeated_after_handoff)::double / nullif(count(repeated_after_handoff), 0) from filtered) as repeat_after_handoff_rate,
    (select count(repeated_after_handoff) from filtered) as repeat_after_handoff_rate_n,
    (select count(*) filter (where repeated_after_switch)::double / nullif(count(repeated_after_switch), 0) from filtered) as repeat_after_switch_rate,
    (select count(repeated_after_switch) from filtered) as repeat_after_switch_rate_n,
    (select sum(cast(round(resolution_business_s * 1e6) as bigint))::double / nullif(count(resolution_business_s), 0) / 1e6 from filtered) as resolution_business_mean_s,
    (select quantile_cont(handoff_s, 0.5) from filtered) as handoff_p50_s,
    (select sum(cast(round(handoff_s * 1e6) as bigint))::double / nullif(count(handoff_s), 0) / 1e6 from filtered) as handoff_mean_s,
    (select quantile_cont(handoff_business_s, 0.5) from filtered) as handoff_business_p50_s,
    (select sum(cast(round(handoff_business_s * 1e6) as bigint))::double / nullif(count(handoff_business_s), 0) / 1e6 from filtered) as handoff_business_mean_s,
    (select count(*) filter (where bot_handled) from filtered) as escalation_rate_n,
    (select count(*) filter (where bot_handled and resolved_at is not null) from filtered) as containment_rate_n,
    (select count(frt_s) from filtered) as frt_p90_s_n,
    (select count(nps_score) from surveys) as nps_n,
    -- handoff completeness and cost (issue 20)
    (select count(*) filter (where handoff_completeness = 4)::double / nullif(count(handoff_completeness), 0) from filtered) as handoff_complete_rate,
    (select sum(handoff_completeness)::double / nullif(count(handoff_completeness), 0) from filtered) as handoff_completeness_mean,
    (select case when count(cost) > 0 then sum(cast(round(cost * 1e6) as bigint)) / 1e6 end from filtered) as cost_total,
    (select sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null)::double
        / nullif(count(cost) filter (where resolved_at is not null), 0) / 1e6 from filtered) as cost_per_resolved,
    (select sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and handled = 'bot')::double
        / nullif(count(cost) filter (where resolved_at is not null and handled = 'bot'), 0) / 1e6 from filtered) as cost_per_resolved_bot,
    (select sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and handled = 'human')::double
        / nullif(count(cost) filter (where resolved_at is not null and handled = 'human'), 0) / 1e6 from filtered) as cost_per_resolved_human,
    (select count(cost) filter (where resolved_at is not null and handled = 'bot')::double
        / nullif(count(cost) filter (where resolved_at is not null), 0) from filtered) as bot_resolved_share,
    -- none resolved by the bot alone: a share of 0, not null (the cost is known)
    (select coalesce(sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null and handled = 'bot'), 0)::double
        / nullif(sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null), 0) from filtered) as bot_resolved_cost_share
`

// expectedKPIs runs independentKPIs and returns its one row by column name.
func expectedKPIs(t *testing.T, db *sql.DB, from, to time.Time, cond string) map[string]any {
	t.Helper()
	q := strings.ReplaceAll(independentKPIs, "%COND%", cond)
	rows, err := db.Query(q, isoDay(from), isoDay(to))
	if err != nil {
		t.Fatalf("independent SQL: %v", err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		t.Fatal("independent SQL returned no row")
	}
	if err := rows.Scan(ptrs...); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	for i, c := range cols {
		out[c] = vals[i]
	}
	return out
}

// compareGroup checks every figure of a report group against the
// independent values: counts, rates and percentiles exactly (the same
// float64), nulls as nulls.
func compareGroup(t *testing.T, where string, got map[string]any, want map[string]any) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: the report has no %s", where, name)
			continue
		}
		var wf, gf float64
		switch v := w.(type) {
		case nil:
			if g != nil {
				t.Errorf("%s: %s = %v, want null", where, name, g)
			}
			continue
		case int64:
			wf = float64(v)
		case float64:
			wf = v
		default:
			t.Fatalf("%s: %s is %T", where, name, w)
		}
		if g == nil {
			t.Errorf("%s: %s is null, want %v", where, name, wf)
			continue
		}
		gf = g.(float64)
		if gf != wf {
			t.Errorf("%s: %s = %v, want %v (direct SQL over conversations)", where, name, gf, wf)
		}
	}
}

func reportJSON(t *testing.T, db *sql.DB, opts KPIOptions) map[string]any {
	t.Helper()
	opts.Format = "json"
	var b bytes.Buffer
	if err := KPI(context.Background(), db, &b, opts); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("the report is not JSON: %v", err)
	}
	return doc
}

func sqlList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// TestReportEqualsDirectSQL checks every figure of the JSON report, for
// several periods and filters, against the same KPI computed directly over
// conversations: overall, each channel, each team, bot vs human, and the
// previous period.
func TestReportEqualsDirectSQL(t *testing.T) {
	wh := fixture(t)
	db := wh.DB
	day := func(n int) time.Time { return fixtureStart.AddDate(0, 0, n) }
	// The fixture must be what the test claims: a spike, and channels far apart.
	var spike, quiet float64
	if err := db.QueryRow(`select
		(select count(*) from conversations where opened_at >= ? and opened_at < ?) / 3.0,
		(select count(*) from conversations where opened_at >= ? and opened_at < ?) / 9.0`,
		day(9), day(12), day(0), day(9)).Scan(&spike, &quiet); err != nil {
		t.Fatal(err)
	}
	if spike < 10*quiet {
		t.Fatalf("the spike has %.0f conversations a day, the quiet days %.0f: not a strong difference", spike, quiet)
	}
	var fastest, slowest float64
	if err := db.QueryRow(`select min(p50), max(p50) from (select channel, quantile_cont(frt_s, 0.5) as p50
		from conversations group by channel having count(frt_s) > 0)`).Scan(&fastest, &slowest); err != nil {
		t.Fatal(err)
	}
	if slowest < 20*fastest {
		t.Fatalf("FRT p50 ranges from %.0f s to %.0f s over the channels: not a strong difference", fastest, slowest)
	}
	var waits int64
	if err := db.QueryRow(`select coalesce(sum(reply_waits), 0)::bigint from conversations`).Scan(&waits); err != nil {
		t.Fatal(err)
	}
	if waits < 10 {
		t.Fatalf("the fixture has %d reply times: too few to check them", waits)
	}

	cases := []struct {
		name     string
		from, to time.Time
		filter   Filter
	}{
		{"month", day(0), day(29), Filter{}},
		{"quiet week then spike", day(5), day(11), Filter{}},
		{"one spike day", day(10), day(10), Filter{}},
		{"email and voice", day(0), day(29), Filter{Channels: []string{"email", "voice"}}},
		{"whatsapp, two weeks", day(3), day(16), Filter{Channels: []string{"whatsapp"}}},
	}
	var teams []string
	rows, err := db.Query("select distinct coalesce(team, 'none') from conversations order by 1 limit 2")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		rows.Scan(&s)
		teams = append(teams, s)
	}
	rows.Close()
	cases = append(cases, struct {
		name     string
		from, to time.Time
		filter   Filter
	}{"two teams", day(0), day(29), Filter{Teams: teams}})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := reportJSON(t, db, KPIOptions{From: c.from, To: c.to, Filter: c.filter})
			base := "true"
			if len(c.filter.Channels) > 0 {
				base += " and channel in " + sqlList(c.filter.Channels)
			}
			if len(c.filter.Teams) > 0 {
				base += " and team in " + sqlList(c.filter.Teams)
			}
			overall := doc["overall"].(map[string]any)
			if overall["conversations"].(float64) == 0 {
				t.Fatal("the period has no conversations")
			}
			compareGroup(t, "overall", overall, expectedKPIs(t, db, c.from, c.to, base))

			channels := doc["channels"].(map[string]any)
			if len(c.filter.Channels) > 0 && len(channels) != len(c.filter.Channels) {
				t.Errorf("channels %v, want the filter's %v", channels, c.filter.Channels)
			}
			for ch, g := range channels {
				compareGroup(t, "channel "+ch, g.(map[string]any), expectedKPIs(t, db, c.from, c.to, base+" and channel = "+sqlList([]string{ch})[1:len(sqlList([]string{ch}))-1]))
			}
			for team, g := range doc["teams"].(map[string]any) {
				compareGroup(t, "team "+team, g.(map[string]any), expectedKPIs(t, db, c.from, c.to, base+" and team = "+sqlList([]string{team})[1:len(sqlList([]string{team}))-1]))
			}
			handlers := doc["handled_by"].(map[string]any)
			for _, h := range []string{"bot", "human"} {
				g, ok := handlers[h]
				if !ok {
					t.Errorf("no handled_by %s", h)
					continue
				}
				compareGroup(t, "handled_by "+h, g.(map[string]any), expectedKPIs(t, db, c.from, c.to, base+" and handled = '"+h+"'"))
			}
			prev, ok := doc["previous_period"].(map[string]any)
			if !ok {
				t.Fatal("no previous period")
			}
			days := int(c.to.Sub(c.from).Hours()/24) + 1
			pFrom, pTo := c.from.AddDate(0, 0, -days), c.from.AddDate(0, 0, -1)
			if prev["from"] != isoDay(pFrom) || prev["to"] != isoDay(pTo) {
				t.Errorf("previous period %v to %v, want %s to %s", prev["from"], prev["to"], isoDay(pFrom), isoDay(pTo))
			}
			compareGroup(t, "previous overall", prev["overall"].(map[string]any), expectedKPIs(t, db, pFrom, pTo, base))
		})
	}
}
