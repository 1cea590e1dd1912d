package models

import (
	"testing"
	"time"
)

// Per-agent figures (issue 31 item 3, Chatwoot's agent summary) over a
// hand-computed scenario with two agents of team support, Ana and Bruno
// (source golden, so their keys are actorKeyOf("ana"), actorKeyOf("bruno")):
//
//   - c1 (webchat, Mon 2026-03-02): asks 10:00:00, Ana answers 10:01:40
//     (agent FRT 100 s, Ana's); asks 10:10:00, Bruno answers 10:12:00
//     (reply time 120 s, Bruno's); asks 10:20:00, Ana answers 10:25:00
//     (reply time 300 s, Ana's); Bruno resolves it at 11:00:00
//     (resolution 3 600 s, Bruno's).
//   - c2 (webchat, 03-02): asks 10:00:00, a bot answers 10:05:00, handoff to
//     support 10:06:00, Bruno answers 10:09:20 (agent FRT 200 s, Bruno's);
//     Ana writes a private note 10:20:00 (she took part, no reply); asks
//     10:30:00, Bruno answers 10:40:00 (reply time 600 s, Bruno's); Ana
//     resolves it at 12:00:00 (resolution 7 200 s, Ana's).
//   - c3 (webchat, 03-02): asks 10:00:00, Ana answers 10:00:50 (agent FRT
//     50 s, Ana's); the system resolves it at 18:00:00 (no agent's).
//   - c4 (webchat, Tue 03-03): asks 09:00:00, Bruno answers 09:16:40
//     (agent FRT 1 000 s); Bruno resolves it at 09:30:00 (1 800 s).
//   - c5 (email, 03-02): asks 10:00:00, Ana answers 10:30:00 (agent FRT
//     1 800 s); Ana resolves it at 11:00:00 (3 600 s).
//
// So on 03-02, webchat: Ana took part in c1, c2, c3 (3), resolved c2 (1),
// agent FRT [50, 100] (p50 75, p90 95, mean 75), reply times [300],
// resolution [7 200]; Bruno took part in c1, c2 (2), resolved c1, agent FRT
// [200], reply times [120, 600] (p50 360, p90 552, mean 360), resolution
// [3 600]. Over both days Bruno (webchat): 3 conversations, 2 resolved,
// agent FRT [200, 1 000] (mean 600), resolution [1 800, 3 600] (mean
// 2 700). c1 counts for both agents: per-agent conversations do not add
// up to kpi_daily's.
func agentEvents() []string {
	p := func(n string) obj { return obj{"phone": "+55119000031" + n} }
	ana := obj{"kind": "agent", "id": "ana", "team": "support"}
	bruno := obj{"kind": "agent", "id": "bruno", "team": "support"}
	handoff := func(id, at, ch, conv string, c obj) string {
		return evJSON(id, "handoff", at, ch, conv, c, bot, obj{"handoff": obj{"reason": "bot_handoff", "to_team": "support"}})
	}
	return []string{
		inbound("c1a", "2026-03-02T10:00:00Z", "webchat", "ag-c1", p("01")),
		outbound("c1b", "2026-03-02T10:01:40Z", "webchat", "ag-c1", p("01"), ana),
		inbound("c1c", "2026-03-02T10:10:00Z", "webchat", "ag-c1", p("01")),
		outbound("c1d", "2026-03-02T10:12:00Z", "webchat", "ag-c1", p("01"), bruno),
		inbound("c1e", "2026-03-02T10:20:00Z", "webchat", "ag-c1", p("01")),
		outbound("c1f", "2026-03-02T10:25:00Z", "webchat", "ag-c1", p("01"), ana),
		resolved("c1g", "2026-03-02T11:00:00Z", "webchat", "ag-c1", p("01"), bruno),

		inbound("c2a", "2026-03-02T10:00:00Z", "webchat", "ag-c2", p("02")),
		outbound("c2b", "2026-03-02T10:05:00Z", "webchat", "ag-c2", p("02"), bot),
		handoff("c2c", "2026-03-02T10:06:00Z", "webchat", "ag-c2", p("02")),
		outbound("c2d", "2026-03-02T10:09:20Z", "webchat", "ag-c2", p("02"), bruno),
		note("c2e", "2026-03-02T10:20:00Z", "webchat", "ag-c2", p("02"), ana),
		inbound("c2f", "2026-03-02T10:30:00Z", "webchat", "ag-c2", p("02")),
		outbound("c2g", "2026-03-02T10:40:00Z", "webchat", "ag-c2", p("02"), bruno),
		resolved("c2h", "2026-03-02T12:00:00Z", "webchat", "ag-c2", p("02"), ana),

		inbound("c3a", "2026-03-02T10:00:00Z", "webchat", "ag-c3", p("03")),
		outbound("c3b", "2026-03-02T10:00:50Z", "webchat", "ag-c3", p("03"), ana),
		resolved("c3c", "2026-03-02T18:00:00Z", "webchat", "ag-c3", p("03"), system),

		inbound("c4a", "2026-03-03T09:00:00Z", "webchat", "ag-c4", p("04")),
		outbound("c4b", "2026-03-03T09:16:40Z", "webchat", "ag-c4", p("04"), bruno),
		resolved("c4c", "2026-03-03T09:30:00Z", "webchat", "ag-c4", p("04"), bruno),

		inbound("c5a", "2026-03-02T10:00:00Z", "email", "ag-c5", p("05")),
		outbound("c5b", "2026-03-02T10:30:00Z", "email", "ag-c5", p("05"), ana),
		resolved("c5c", "2026-03-02T11:00:00Z", "email", "ag-c5", p("05"), ana),
	}
}

// actorKeyOf is an agent's actor_key as docs/tables.md specifies it,
// worked out independently of the code under test.
func actorKeyOf(id string) string { return hmacHex("cxlake/actor_key/v1", "golden", id) }

func agentConfig(on bool) Config {
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC) }
	cfg.PerAgent = on
	return cfg
}

func TestPerAgentFigures(t *testing.T) {
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, agentEvents()...)
	mustBuild(t, w, agentConfig(true), true)
	ana, bruno := actorKeyOf("ana"), actorKeyOf("bruno")

	key := "strftime(day, '%Y-%m-%d') || '|' || channel || '|' || team || '|' || actor_key"
	checkRows(t, w.DB, "kpi_daily_agent", key, map[string]row{
		"2026-03-02|webchat|support|" + ana: {
			"conversations": int64(3), "resolved_conversations": int64(1),
			"agent_frt_p50_s": 75.0, "agent_frt_p90_s": 95.0, "agent_frt_mean_s": 75.0,
			"reply_time_p50_s": 300.0, "reply_time_p90_s": 300.0, "reply_time_mean_s": 300.0, "reply_waits": int64(1),
			"resolution_p50_s": 7200.0, "resolution_mean_s": 7200.0,
			"agent_frt_us_sum": int64(150_000_000), "reply_time_us_sum": int64(300_000_000), "resolution_us_sum": int64(7_200_000_000),
		},
		"2026-03-02|webchat|support|" + bruno: {
			"conversations": int64(2), "resolved_conversations": int64(1),
			"agent_frt_p50_s": 200.0, "agent_frt_mean_s": 200.0,
			"reply_time_p50_s": 360.0, "reply_time_p90_s": 552.0, "reply_time_mean_s": 360.0, "reply_waits": int64(2),
			"resolution_p50_s": 3600.0, "resolution_mean_s": 3600.0,
		},
		"2026-03-02|email|support|" + ana: {
			"conversations": int64(1), "resolved_conversations": int64(1),
			"agent_frt_p50_s": 1800.0, "agent_frt_mean_s": 1800.0,
			"reply_time_p50_s": nil, "reply_time_mean_s": nil, "reply_waits": int64(0),
			"resolution_p50_s": 3600.0, "resolution_mean_s": 3600.0,
		},
		"2026-03-03|webchat|support|" + bruno: {
			"conversations": int64(1), "resolved_conversations": int64(1),
			"agent_frt_p50_s": 1000.0, "resolution_p50_s": 1800.0, "reply_waits": int64(0),
		},
	})
	checkCount(t, w.DB, "select count(*) from kpi_daily_agent", 4)
	// Over both days, from the parts, per agent on webchat: exact, not a
	// mean of daily figures.
	figures, err := KPISelectOf("conversations", "resolved_conversations", "agent_frt_p50_s", "agent_frt_mean_s",
		"resolution_p50_s", "resolution_mean_s", "reply_time_mean_s", "reply_waits")
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, w.DB, "(select actor_key, "+figures+" from kpi_daily_agent where channel = 'webchat' group by actor_key)", "actor_key", map[string]row{
		bruno: {"conversations": int64(3), "resolved_conversations": int64(2), "agent_frt_p50_s": 600.0, "agent_frt_mean_s": 600.0,
			"resolution_p50_s": 2700.0, "resolution_mean_s": 2700.0, "reply_time_mean_s": 360.0, "reply_waits": int64(2)},
		ana: {"conversations": int64(3), "resolved_conversations": int64(1), "agent_frt_mean_s": 75.0},
	})
	// The team's own figures count each conversation once (kpi_daily_team).
	checkRows(t, w.DB, "kpi_daily_team", "strftime(day, '%Y-%m-%d') || '|' || channel || '|' || team", map[string]row{
		"2026-03-02|webchat|support": {"conversations": int64(3)},
	})
	// No agent's id in clear, in any model or column.
	checkCount(t, w.DB, "select count(*) from kpi_daily_agent where actor_key in ('ana', 'bruno')", 0)
	mustPassDataTests(t, w)

	// Exactness over periods: for every window of days and every agent,
	// the figures summed from the mart equal those worked out directly
	// over the conversations of that window, from the credited events.
	var bad int
	if err := w.DB.QueryRow(`
		with days as (select unnest(generate_series(date '2026-03-01', date '2026-03-04', interval 1 day))::date as d),
		windows as (select a.d as from_day, b.d as to_day from days a join days b on a.d <= b.d),
		credited as (
			select (c.opened_at at time zone 'UTC')::date as day, a.actor_key, c.agent_frt_s, c.resolution_s,
				c.agent_first_responder_key = a.actor_key as first, c.resolver_agent_key is not distinct from a.actor_key as resolver
			from int_conversations_joined c, (select conversation_id, unnest(agent_keys) as actor_key from int_conversations_joined) a
			where a.conversation_id = c.conversation_id
		),
		direct as (
			select from_day, to_day, actor_key, count(*) as conversations, count(*) filter (where resolver) as resolved,
				quantile_cont(agent_frt_s, 0.5) filter (where first) as frt_p50, avg(agent_frt_s) filter (where first) as frt_mean,
				avg(resolution_s) filter (where resolver) as resolution_mean
			from windows join credited on day between from_day and to_day
			group by all
		),
		mart as (
			select from_day, to_day, actor_key, ` + figures + `
			from windows join kpi_daily_agent on day between from_day and to_day
			group by all
		)
		select count(*) from direct full join mart using (from_day, to_day, actor_key)
		where direct.conversations is distinct from mart.conversations
		   or direct.resolved is distinct from mart.resolved_conversations
		   or abs(direct.frt_p50 - mart.agent_frt_p50_s) > 1e-6 or (direct.frt_p50 is null) <> (mart.agent_frt_p50_s is null)
		   or abs(direct.frt_mean - mart.agent_frt_mean_s) > 1e-6 or (direct.frt_mean is null) <> (mart.agent_frt_mean_s is null)
		   or abs(direct.resolution_mean - mart.resolution_mean_s) > 1e-6 or (direct.resolution_mean is null) <> (mart.resolution_mean_s is null)`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d (window, agent) pairs whose figures differ from the conversations'", bad)
	}
}

// The switch: off, no model sees an agent's key and the mart is empty,
// while every other figure stays as it was; on again, the figures return.
// Each change of the switch is a full rebuild.
func TestPerAgentSwitch(t *testing.T) {
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, agentEvents()...)
	mustBuild(t, w, agentConfig(true), true)
	before := snapshot(t, w.DB, "kpi_daily", "day, channel")
	if st := mustBuild(t, w, agentConfig(false), false); !st.Full {
		t.Errorf("switching per-agent figures off: %+v, want a full rebuild", st)
	}
	checkCount(t, w.DB, "select count(*) from kpi_daily_agent", 0)
	checkCount(t, w.DB, "select count(*) from stg_cx__events where actor_key is not null", 0)
	checkCount(t, w.DB, "select count(*) from int_conversations_joined where len(agent_keys) > 0 or agent_first_responder_key is not null or resolver_agent_key is not null or len(agent_reply_times) > 0", 0)
	after := snapshot(t, w.DB, "kpi_daily", "day, channel")
	if len(before) != len(after) {
		t.Fatalf("kpi_daily: %d rows with per-agent figures, %d without", len(before), len(after))
	}
	for i := range before {
		if before[i] != after[i] {
			t.Errorf("kpi_daily changed with the switch:\n  %s\n  %s", before[i], after[i])
		}
	}
	mustPassDataTests(t, w)
	if st := mustBuild(t, w, agentConfig(true), false); !st.Full {
		t.Errorf("switching per-agent figures on: %+v, want a full rebuild", st)
	}
	checkCount(t, w.DB, "select count(*) from kpi_daily_agent", 4)
	// Incremental refreshes keep it as a rebuild does: a late event
	// (Bruno's reply to c3 on 03-02) changes only that day's rows.
	writeJSON(t, w, &off,
		inbound("c3d", "2026-03-02T18:10:00Z", "webchat", "ag-c3", obj{"phone": "+5511900003103"}),
		outbound("c3e", "2026-03-02T18:12:30Z", "webchat", "ag-c3", obj{"phone": "+5511900003103"}, obj{"kind": "agent", "id": "bruno", "team": "support"}))
	if st := mustBuild(t, w, agentConfig(true), false); st.Full {
		t.Errorf("a new batch: %+v, want an incremental refresh", st)
	}
	incremental := snapshot(t, w.DB, "kpi_daily_agent", "day, channel, team, actor_key")
	mustBuild(t, w, agentConfig(true), true)
	full := snapshot(t, w.DB, "kpi_daily_agent", "day, channel, team, actor_key")
	if len(incremental) != len(full) {
		t.Fatalf("kpi_daily_agent: %d rows incremental, %d rebuilt", len(incremental), len(full))
	}
	for i := range full {
		if incremental[i] != full[i] {
			t.Errorf("kpi_daily_agent row %d: incremental\n  %s\nrebuilt\n  %s", i, incremental[i], full[i])
		}
	}
	// c3 was reopened by the inbound message after its resolution, so it
	// is no longer resolved; Bruno answered it 150 s after: a reply time.
	checkRows(t, w.DB, "kpi_daily_agent", "strftime(day, '%Y-%m-%d') || '|' || channel || '|' || actor_key", map[string]row{
		"2026-03-02|webchat|" + actorKeyOf("bruno"): {"conversations": int64(3), "reply_waits": int64(3), "reply_time_p50_s": 150.0},
	})
}
