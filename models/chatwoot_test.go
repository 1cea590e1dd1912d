package models

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// The metrics Chatwoot's reports have, over one hand-computed scenario
// (issue 31). Default buckets; no schedule unless a subtest sets one.
// Conversations, all answered by an agent of team support:
//
//   - wc-1 (webchat): asks Mon 2026-03-02 10:00:00Z, answered 10:59:59Z:
//     FRT 3 599 s, bucket 0-1h.
//   - wc-2 (webchat): asks 10:00:00Z, answered 11:00:00Z: FRT 3 600 s,
//     bucket 1h-4h (Chatwoot's spec: exactly an hour is 1-4 h).
//   - wc-3 (webchat): asks 10:00:00Z, answered 14:00:00Z: 14 400 s, 4h-8h.
//   - wc-4 (webchat): opens Tue 03-03 11:00:00Z, answered Wed 03-04
//     11:00:00Z: 86 400 s, 24h+.
//   - wc-5 (webchat): asks Tue 03-03 12:00:00Z, never answered: no FRT,
//     in no bucket.
//   - em-1 (email): asks Mon 03-02 10:00:00Z, answered 19:00:00Z:
//     32 400 s, 8h-24h.
//
// Means (kpi_daily): webchat on 03-02: (3 599 + 3 600 + 14 400) / 3 =
// 7 199.666…; on 03-03: 86 400. Over both days (the report's and the
// dashboards' kind of period), webchat: (3 599 + 3 600 + 14 400 +
// 86 400) / 4 = 26 999.75, which is not the mean of the daily means
// (46 799.83…).
func chatwootEvents() []string {
	p := func(n string) obj { return obj{"phone": "+55119000003" + n} }
	sup := agent("support")
	return []string{
		inbound("w1a", "2026-03-02T10:00:00Z", "webchat", "wc-1", p("01")),
		outbound("w1b", "2026-03-02T10:59:59Z", "webchat", "wc-1", p("01"), sup),
		inbound("w2a", "2026-03-02T10:00:00Z", "webchat", "wc-2", p("02")),
		outbound("w2b", "2026-03-02T11:00:00Z", "webchat", "wc-2", p("02"), sup),
		inbound("w3a", "2026-03-02T10:00:00Z", "webchat", "wc-3", p("03")),
		outbound("w3b", "2026-03-02T14:00:00Z", "webchat", "wc-3", p("03"), sup),
		inbound("w4a", "2026-03-03T11:00:00Z", "webchat", "wc-4", p("04")),
		outbound("w4b", "2026-03-04T11:00:00Z", "webchat", "wc-4", p("04"), sup),
		inbound("w5a", "2026-03-03T12:00:00Z", "webchat", "wc-5", p("05")),
		inbound("e1a", "2026-03-02T10:00:00Z", "email", "em-1", p("06")),
		outbound("e1b", "2026-03-02T19:00:00Z", "email", "em-1", p("06"), sup),
	}
}

// bucketsOf is the FRT distribution summed per channel and bucket label,
// over the UTC days from..to.
func bucketsOf(from, to string) string {
	return "(select channel || '|' || frt_bucket_label as k, sum(conversations) as conversations" +
		" from frt_distribution_quarter_hourly where day between date '" + from + "' and date '" + to + "' group by all)"
}

func TestFRTDistributionAndMeans(t *testing.T) {
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC) }
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, chatwootEvents()...)
	mustBuild(t, w, cfg, true)

	checkRows(t, w.DB, bucketsOf("2026-03-02", "2026-03-04"), "k", map[string]row{
		"webchat|0-1h":   {"conversations": 1.0},
		"webchat|1h-4h":  {"conversations": 1.0},
		"webchat|4h-8h":  {"conversations": 1.0},
		"webchat|8h-24h": {"conversations": 0.0},
		"webchat|24h+":   {"conversations": 1.0},
		"email|0-1h":     {"conversations": 0.0},
		"email|8h-24h":   {"conversations": 1.0},
	})
	checkRows(t, w.DB, bucketsOf("2026-03-03", "2026-03-03"), "k", map[string]row{
		"webchat|1h-4h": {"conversations": 0.0},
		"webchat|24h+":  {"conversations": 1.0},
	})
	checkRows(t, w.DB, "stg_models__frt_buckets", "frt_bucket_label", map[string]row{
		"0-1h":  {"frt_bucket": int32(1), "frt_from_s": 0.0, "frt_to_s": 3600.0},
		"1h-4h": {"frt_bucket": int32(2), "frt_from_s": 3600.0, "frt_to_s": 14400.0},
		"24h+":  {"frt_bucket": int32(5), "frt_from_s": 86400.0, "frt_to_s": nil},
	})

	day := "strftime(day, '%Y-%m-%d') || '|' || channel"
	checkRows(t, w.DB, "kpi_daily", day, map[string]row{
		"2026-03-02|webchat": {"frt_mean_s": 21599.0 / 3, "agent_frt_mean_s": 21599.0 / 3, "resolution_mean_s": nil},
		"2026-03-03|webchat": {"frt_mean_s": 86400.0},
		"2026-03-02|email":   {"frt_mean_s": 32400.0},
	})
	// Over both days, from the base's sums and counts.
	checkRows(t, w.DB, "(select channel, "+KPISelect(false)+" from kpi_counts_daily group by channel)", "channel", map[string]row{
		"webchat": {"frt_mean_s": 26999.75, "frt_p50_s": 9000.0},
	})
	mustPassDataTests(t, w)

	// Exactness over periods: for every window of days, the distribution
	// summed from the mart equals a count taken directly over the
	// conversations of those days.
	var bad int
	if err := w.DB.QueryRow(`
		with days as (select unnest(generate_series(date '2026-03-01', date '2026-03-05', interval 1 day))::date as d),
		windows as (select a.d as from_day, b.d as to_day from days a join days b on a.d <= b.d),
		direct as (
			select from_day, to_day, c.channel,
				count(*) filter (where frt_s < 3600) as b1,
				count(*) filter (where frt_s >= 3600 and frt_s < 14400) as b2,
				count(*) filter (where frt_s >= 14400 and frt_s < 28800) as b3,
				count(*) filter (where frt_s >= 28800 and frt_s < 86400) as b4,
				count(*) filter (where frt_s >= 86400) as b5
			from windows join conversations c
				on (c.opened_at at time zone 'UTC')::date between from_day and to_day
			group by all
		),
		mart as (
			select from_day, to_day, f.channel,
				sum(conversations) filter (where frt_bucket = 1) as b1,
				sum(conversations) filter (where frt_bucket = 2) as b2,
				sum(conversations) filter (where frt_bucket = 3) as b3,
				sum(conversations) filter (where frt_bucket = 4) as b4,
				sum(conversations) filter (where frt_bucket = 5) as b5
			from windows join frt_distribution_quarter_hourly f on f.day between from_day and to_day
			group by all
		)
		select count(*) from direct full join mart using (from_day, to_day, channel)
		where (direct.b1, direct.b2, direct.b3, direct.b4, direct.b5) is distinct from (mart.b1, mart.b2, mart.b3, mart.b4, mart.b5)`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d period × channel cells of the FRT distribution differ from a count over conversations", bad)
	}

	t.Run("configured buckets", func(t *testing.T) {
		cfg := cfg
		cfg.FRTBuckets = []time.Duration{30 * time.Minute, 90 * time.Minute, 4 * time.Hour}
		mustBuild(t, w, cfg, false) // the configuration changed: a full rebuild
		checkRows(t, w.DB, bucketsOf("2026-03-02", "2026-03-04"), "k", map[string]row{
			"webchat|0-30m":     {"conversations": 0.0},
			"webchat|30m-1h30m": {"conversations": 2.0},
			"webchat|1h30m-4h":  {"conversations": 0.0},
			"webchat|4h+":       {"conversations": 2.0},
			"email|4h+":         {"conversations": 1.0},
		})
		mustPassDataTests(t, w)
	})

	t.Run("refused", func(t *testing.T) {
		for _, b := range [][]time.Duration{{time.Hour, time.Hour}, {4 * time.Hour, time.Hour}, {0}, {-time.Minute}} {
			cfg := testConfig()
			cfg.FRTBuckets = b
			var ce *ConfigError
			if err := cfg.Validate(); !errors.As(err, &ce) || ce.Key != "models.frt_buckets" {
				t.Errorf("buckets %v: %v, want a ConfigError naming models.frt_buckets", b, err)
			}
		}
	})
}

// Reply time, worked out by hand. Conversation wa-r (whatsapp), agent of
// team support, bot bot-1:
//
//	Mon 2026-03-02 09:00:00Z  customer  "hi"            wait 1 starts (the first exchange)
//	          09:00:10Z       bot       reply           no reply: a bot
//	          09:05:00Z       agent     reply           wait 1 ends (agent FRT, not a reply time)
//	          10:00:00Z       customer                  wait 2 starts
//	          10:30:00Z       customer                  still waiting since 10:00
//	          11:00:00Z       agent     private note    no reply
//	          12:00:00Z       agent     reply           wait 2 ends: 7 200 s (Chatwoot's spec figure)
//	          12:10:00Z       customer                  wait 3 starts
//	          12:10:30Z       agent     reply           wait 3 ends: 30 s
//	          13:00:00Z       customer                  wait 4 starts
//	          13:00:00Z       agent     reply (same instant) wait 4 ends: 0 s
//	          14:00:00Z       customer                  wait 5 starts, never answered: not counted
//
// Reply times 0, 30, 7 200: 3 waits; p50 30; p90 30 + 0.8 × 7 170 =
// 5 766; mean 7 230 / 3 = 2 410.
// Conversation wa-s (whatsapp), opened Tue 03-03: customer 09:00:00Z,
// agent 09:01:00Z (first exchange), customer 10:00:00Z, agent 11:00:00Z:
// one reply time, 3 600 s. wa-t: one exchange only: 0 waits, nulls.
// Over both days (kpi_counts_daily summed): 0, 30, 3 600, 7 200: 4 waits,
// p50 1 815, mean 10 830 / 4 = 2 707.5.
func TestReplyTime(t *testing.T) {
	r, s, u := obj{"phone": "+5511900000401"}, obj{"phone": "+5511900000402"}, obj{"phone": "+5511900000403"}
	sup := agent("support")
	events := []string{
		inbound("r01", "2026-03-02T09:00:00Z", "whatsapp", "wa-r", r),
		outbound("r02", "2026-03-02T09:00:10Z", "whatsapp", "wa-r", r, bot),
		outbound("r03", "2026-03-02T09:05:00Z", "whatsapp", "wa-r", r, sup),
		inbound("r04", "2026-03-02T10:00:00Z", "whatsapp", "wa-r", r),
		inbound("r05", "2026-03-02T10:30:00Z", "whatsapp", "wa-r", r),
		note("r06", "2026-03-02T11:00:00Z", "whatsapp", "wa-r", r, sup),
		outbound("r07", "2026-03-02T12:00:00Z", "whatsapp", "wa-r", r, sup),
		inbound("r08", "2026-03-02T12:10:00Z", "whatsapp", "wa-r", r),
		outbound("r09", "2026-03-02T12:10:30Z", "whatsapp", "wa-r", r, sup),
		// the agent's event id sorts first: the same instant still counts
		outbound("r10a", "2026-03-02T13:00:00Z", "whatsapp", "wa-r", r, sup),
		inbound("r10b", "2026-03-02T13:00:00Z", "whatsapp", "wa-r", r),
		inbound("r11", "2026-03-02T14:00:00Z", "whatsapp", "wa-r", r),
		inbound("s01", "2026-03-03T09:00:00Z", "whatsapp", "wa-s", s),
		outbound("s02", "2026-03-03T09:01:00Z", "whatsapp", "wa-s", s, sup),
		inbound("s03", "2026-03-03T10:00:00Z", "whatsapp", "wa-s", s),
		outbound("s04", "2026-03-03T11:00:00Z", "whatsapp", "wa-s", s, sup),
		inbound("t01", "2026-03-03T09:00:00Z", "whatsapp", "wa-t", u),
		outbound("t02", "2026-03-03T09:02:00Z", "whatsapp", "wa-t", u, sup),
	}
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC) }
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, events...)
	mustBuild(t, w, cfg, true)

	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
		"wa-r": {"reply_waits": 3.0, "reply_time_p50_s": 30.0, "reply_time_p90_s": 5766.0, "reply_time_mean_s": 2410.0, "agent_frt_s": 300.0},
		"wa-s": {"reply_waits": 1.0, "reply_time_p50_s": 3600.0, "reply_time_mean_s": 3600.0},
		"wa-t": {"reply_waits": 0.0, "reply_time_p50_s": nil, "reply_time_mean_s": nil},
	})
	day := "strftime(day, '%Y-%m-%d') || '|' || channel"
	checkRows(t, w.DB, "kpi_daily", day, map[string]row{
		"2026-03-02|whatsapp": {"reply_waits": 3.0, "reply_time_p50_s": 30.0, "reply_time_mean_s": 2410.0},
		"2026-03-03|whatsapp": {"reply_waits": 1.0, "reply_time_p90_s": 3600.0},
	})
	checkRows(t, w.DB, "(select channel, "+KPISelect(false)+" from kpi_counts_daily group by channel)", "channel", map[string]row{
		"whatsapp": {"reply_waits": 4.0, "reply_time_p50_s": 1815.0, "reply_time_mean_s": 2707.5},
	})
	// Message volumes: wa-r on Monday, 6 customer messages, 5 public
	// replies (1 bot, 4 agent) and 1 note; wa-s and wa-t on Tuesday, 3 and 3.
	volumes := "(select strftime(day, '%Y-%m-%d') as k, sum(inbound_messages) as inbound_messages, sum(outbound_messages) as outbound_messages," +
		" sum(bot_messages) as bot_messages, sum(agent_messages) as agent_messages, sum(private_notes) as private_notes" +
		" from message_volumes_quarter_hourly where channel = 'whatsapp' and team = 'support' group by all)"
	checkRows(t, w.DB, volumes, "k", map[string]row{
		"2026-03-02": {"inbound_messages": 6.0, "outbound_messages": 5.0, "bot_messages": 1.0, "agent_messages": 4.0, "private_notes": 1.0},
		"2026-03-03": {"inbound_messages": 3.0, "outbound_messages": 3.0, "bot_messages": 0.0, "agent_messages": 3.0, "private_notes": 0.0},
	})
	mustPassDataTests(t, w)

	// Batch by batch (the conversation's events arriving in two batches)
	// equals a full build.
	inc := openWarehouse(t)
	off = 0
	writeJSON(t, inc, &off, events[:5]...)
	mustBuild(t, inc, cfg, false)
	writeJSON(t, inc, &off, events[5:]...)
	if st := mustBuild(t, inc, cfg, false); st.Full {
		t.Fatalf("second build was full: %s", st.Reason)
	}
	compareModels(t, w.DB, inc.DB)
}

// Resolution time and time to handoff in business hours, with Chatwoot's
// spec figures. Schedule default: UTC, Monday to Friday 09:00-17:00 (8 h a
// day). 2026-03-01 is a Sunday, 2026-03-07 a Saturday.
//
//   - em-w (email): asks Sun 03-01 00:00:30Z, handed off to support Mon
//     03-02 10:30:00Z, an agent answers 10:40:00Z, resolved Sat 03-07
//     23:59:30Z. Resolution: 6 d 23 h 59 min = 604 740 s on the clock;
//     in business hours the five weekdays, 5 × 8 h = 144 000 s. Time to
//     handoff: 34 h 29 min 30 s = 124 170 s; business Mon 09:00-10:30 =
//     5 400 s.
//   - em-x (email): asks Mon 03-02 16:00:00Z, resolved Tue 03-03 10:00:00Z:
//     64 800 s on the clock, 1 h + 1 h = 7 200 s in business hours; no
//     handoff: null.
//   - em-y (email): handed off Mon 03-02 08:00:00Z before the customer's
//     first message at 08:30:00Z: no time to handoff (null); not resolved.
//
// kpi_daily, email: on 03-01 resolution_business_p50_s 144 000, on 03-02
// 7 200. Summed over both days: resolution business p50 and mean 75 600,
// clock resolution mean (604 740 + 64 800) / 2 = 334 770.
func TestBusinessResolutionAndHandoff(t *testing.T) {
	w1, x, y := obj{"phone": "+5511900000501"}, obj{"phone": "+5511900000502"}, obj{"phone": "+5511900000503"}
	sup := agent("support")
	handoff := func(id, at, conv string, c obj) string {
		return evJSON(id, "handoff", at, "email", conv, c, bot, obj{"handoff": obj{"to_team": "support", "summary": "s", "fields": obj{"k": "v"}}})
	}
	events := []string{
		inbound("w01", "2026-03-01T00:00:30Z", "email", "em-w", w1),
		handoff("w02", "2026-03-02T10:30:00Z", "em-w", w1),
		outbound("w03", "2026-03-02T10:40:00Z", "email", "em-w", w1, sup),
		resolved("w04", "2026-03-07T23:59:30Z", "email", "em-w", w1, sup),
		inbound("x01", "2026-03-02T16:00:00Z", "email", "em-x", x),
		outbound("x02", "2026-03-02T16:05:00Z", "email", "em-x", x, sup),
		resolved("x03", "2026-03-03T10:00:00Z", "email", "em-x", x, sup),
		handoff("y01", "2026-03-02T08:00:00Z", "em-y", y),
		inbound("y02", "2026-03-02T08:30:00Z", "email", "em-y", y),
	}
	weekday := [][2]string{{"09:00", "17:00"}}
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC) }
	cfg.Schedules = map[string]Schedule{"default": {Weekly: map[time.Weekday][][2]string{
		time.Monday: weekday, time.Tuesday: weekday, time.Wednesday: weekday, time.Thursday: weekday, time.Friday: weekday,
	}}}
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, events...)
	mustBuild(t, w, cfg, true)

	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
		"em-w": {"resolution_s": 604740.0, "resolution_business_s": 144000.0, "handoff_s": 124170.0, "handoff_business_s": 5400.0},
		"em-x": {"resolution_s": 64800.0, "resolution_business_s": 7200.0, "handoff_s": nil, "handoff_business_s": nil},
		"em-y": {"handoff_s": nil, "handoff_business_s": nil, "resolution_business_s": nil},
	})
	day := "strftime(day, '%Y-%m-%d') || '|' || channel"
	checkRows(t, w.DB, "kpi_daily", day, map[string]row{
		"2026-03-01|email": {"resolution_business_p50_s": 144000.0, "resolution_business_mean_s": 144000.0, "handoff_p50_s": 124170.0, "handoff_business_mean_s": 5400.0},
		"2026-03-02|email": {"resolution_business_p50_s": 7200.0, "handoff_p50_s": nil, "handoff_business_p50_s": nil},
	})
	checkRows(t, w.DB, "(select channel, "+KPISelect(false)+" from kpi_counts_daily group by channel)", "channel", map[string]row{
		"email": {"resolution_business_p50_s": 75600.0, "resolution_business_mean_s": 75600.0, "resolution_mean_s": 334770.0, "handoff_business_p50_s": 5400.0},
	})
	// Message volumes count on the day a message was sent: em-w opened on
	// Sunday, its agent's reply is Monday's work. Monday, email, support:
	// inbound x01 and y02, agent replies w03 and x02.
	volumes := "(select strftime(day, '%Y-%m-%d') || '|' || channel || '|' || team as k, sum(inbound_messages) as inbound_messages," +
		" sum(outbound_messages) as outbound_messages, sum(agent_messages) as agent_messages, sum(bot_messages) as bot_messages" +
		" from message_volumes_quarter_hourly group by all)"
	checkRows(t, w.DB, volumes, "k", map[string]row{
		"2026-03-01|email|support": {"inbound_messages": 1.0, "outbound_messages": 0.0},
		"2026-03-02|email|support": {"inbound_messages": 2.0, "outbound_messages": 2.0, "agent_messages": 2.0, "bot_messages": 0.0},
	})
	checkRows(t, w.DB, "message_volumes_quarter_hourly", "strftime(bucket_at, '%Y-%m-%dT%H:%M')", map[string]row{
		"2026-03-02T10:30": {"agent_messages": 1.0, "inbound_messages": 0.0},
		"2026-03-02T16:00": {"agent_messages": 1.0, "inbound_messages": 1.0},
	})
	mustPassDataTests(t, w)

	// Without a schedule, business time is clock time.
	plain := openWarehouse(t)
	off = 0
	writeJSON(t, plain, &off, events...)
	cfg.Schedules = nil
	mustBuild(t, plain, cfg, true)
	checkRows(t, plain.DB, "conversations", "conversation_id", map[string]row{
		"em-w": {"resolution_business_s": 604740.0, "handoff_business_s": 124170.0},
	})
}

// DESIGN's handoff SLA: the first agent reply within the first handoff's
// own sla_seconds, on the clock. Whatsapp, Mon 2026-03-02; each customer
// writes at 09:59:00Z and a bot hands off at 10:00:00Z:
//
//   - hs-a: SLA 600 s, the agent replies 10:08:00Z: 480 s, met.
//   - hs-b: SLA 600 s, the agent replies 10:10:01Z: 601 s, missed.
//   - hs-c: SLA 600 s, no reply: pending (null) at the clock 10:05Z;
//     missed once the clock passes 10:10Z (re-judged with no new batch).
//   - hs-d: no SLA on the handoff: null.
//
// handoff_sla_met_rate: at 10:05Z 1 of 2; at 10:15Z 1 of 3.
func TestHandoffSLAMet(t *testing.T) {
	sla := func(s int) obj {
		return obj{"to_team": "support", "summary": "s", "fields": obj{"k": "v"}, "sla_seconds": s}
	}
	var events []string
	for i, c := range []struct {
		conv    string
		handoff obj
		reply   string
	}{
		{"hs-a", sla(600), "2026-03-02T10:08:00Z"},
		{"hs-b", sla(600), "2026-03-02T10:10:01Z"},
		{"hs-c", sla(600), ""},
		{"hs-d", obj{"to_team": "support"}, "2026-03-02T10:01:00Z"},
	} {
		p := obj{"phone": fmt.Sprintf("+551190000060%d", i)}
		events = append(events,
			inbound(c.conv+"-1", "2026-03-02T09:59:00Z", "whatsapp", c.conv, p),
			evJSON(c.conv+"-2", "handoff", "2026-03-02T10:00:00Z", "whatsapp", c.conv, p, bot, obj{"handoff": c.handoff}))
		if c.reply != "" {
			events = append(events, outbound(c.conv+"-3", c.reply, "whatsapp", c.conv, p, agent("support")))
		}
	}
	clock := time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Now = func() time.Time { return clock }
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, events...)
	mustBuild(t, w, cfg, false)
	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
		"hs-a": {"handoff_sla_s": 600.0, "handoff_sla_met": true},
		"hs-b": {"handoff_sla_met": false},
		"hs-c": {"handoff_sla_met": nil},
		"hs-d": {"handoff_sla_s": nil, "handoff_sla_met": nil},
	})
	checkRows(t, w.DB, "kpi_daily", "channel", map[string]row{"whatsapp": {"handoff_sla_met_rate": 0.5}})

	clock = time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC)
	if st := mustBuild(t, w, cfg, false); st.Full || st.Contacts != 1 {
		t.Errorf("refresh past hs-c's handoff deadline: %+v, want an incremental build of 1 person", st)
	}
	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{"hs-c": {"handoff_sla_met": false}})
	checkRows(t, w.DB, "kpi_daily", "channel", map[string]row{"whatsapp": {"handoff_sla_met_rate": 1.0 / 3}})
	mustPassDataTests(t, w)

	full := openWarehouse(t)
	off = 0
	writeJSON(t, full, &off, events...)
	mustBuild(t, full, cfg, true)
	compareModels(t, w.DB, full.DB)
}

// Chatwoot's first response time under its own name: from the latest of
// the first inbound message, the last handoff and the last reopening, to
// the first public agent reply after it. Whatsapp, Mon 2026-03-02:
//
//   - fl-a: asks 10:00:00Z, the bot answers 10:00:10Z, hands off
//     10:01:00Z, the agent replies 10:01:42Z: 42 s (Chatwoot's spec: agent
//     FRT after a bot handoff), where cxlake's frt_s is the bot's 10 s.
//   - fl-b: asks 10:00:00Z, the agent replies 10:02:00Z, resolves
//     10:05:00Z; reopened 11:00:00Z, the customer writes 11:00:05Z, the
//     agent replies 11:00:30Z: 30 s from the reopening (frt_s stays 120).
//   - fl-c: asks, the bot answers, hands off 10:01:00Z; no agent reply:
//     null.
//   - fl-d: asks 10:00:00Z, the agent replies 10:03:00Z, no handoff: 180 s.
//   - fl-e: two handoffs, 10:01:00Z and 10:20:00Z, agent replies 10:05:00Z
//     and 10:21:15Z: 75 s from the last handoff; agent_frt_s stays 240 s
//     from the first.
func TestFRTSinceLastHandoff(t *testing.T) {
	sup := agent("support")
	ho := func(id, at, conv string, c obj) string {
		return evJSON(id, "handoff", at, "whatsapp", conv, c, bot, obj{"handoff": obj{"to_team": "support"}})
	}
	p := func(n string) obj { return obj{"phone": "+55119000070" + n} }
	a, b, c, d, e := p("1"), p("2"), p("3"), p("4"), p("5")
	events := []string{
		inbound("a1", "2026-03-02T10:00:00Z", "whatsapp", "fl-a", a),
		outbound("a2", "2026-03-02T10:00:10Z", "whatsapp", "fl-a", a, bot),
		ho("a3", "2026-03-02T10:01:00Z", "fl-a", a),
		outbound("a4", "2026-03-02T10:01:42Z", "whatsapp", "fl-a", a, sup),
		inbound("b1", "2026-03-02T10:00:00Z", "whatsapp", "fl-b", b),
		outbound("b2", "2026-03-02T10:02:00Z", "whatsapp", "fl-b", b, sup),
		resolved("b3", "2026-03-02T10:05:00Z", "whatsapp", "fl-b", b, sup),
		evJSON("b4", "reopened", "2026-03-02T11:00:00Z", "whatsapp", "fl-b", b, customer, nil),
		inbound("b5", "2026-03-02T11:00:05Z", "whatsapp", "fl-b", b),
		outbound("b6", "2026-03-02T11:00:30Z", "whatsapp", "fl-b", b, sup),
		inbound("c1", "2026-03-02T10:00:00Z", "whatsapp", "fl-c", c),
		outbound("c2", "2026-03-02T10:00:05Z", "whatsapp", "fl-c", c, bot),
		ho("c3", "2026-03-02T10:01:00Z", "fl-c", c),
		inbound("d1", "2026-03-02T10:00:00Z", "whatsapp", "fl-d", d),
		outbound("d2", "2026-03-02T10:03:00Z", "whatsapp", "fl-d", d, sup),
		inbound("e1", "2026-03-02T10:00:00Z", "whatsapp", "fl-e", e),
		ho("e2", "2026-03-02T10:01:00Z", "fl-e", e),
		outbound("e3", "2026-03-02T10:05:00Z", "whatsapp", "fl-e", e, sup),
		ho("e4", "2026-03-02T10:20:00Z", "fl-e", e),
		outbound("e5", "2026-03-02T10:21:15Z", "whatsapp", "fl-e", e, sup),
	}
	cfg := testConfig()
	cfg.Now = func() time.Time { return time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC) }
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, events...)
	mustBuild(t, w, cfg, false)
	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
		"fl-a": {"frt_since_last_handoff_s": 42.0, "frt_s": 10.0, "agent_frt_s": 42.0},
		"fl-b": {"frt_since_last_handoff_s": 30.0, "frt_s": 120.0},
		"fl-c": {"frt_since_last_handoff_s": nil, "frt_s": 5.0},
		"fl-d": {"frt_since_last_handoff_s": 180.0, "frt_s": 180.0},
		"fl-e": {"frt_since_last_handoff_s": 75.0, "agent_frt_s": 240.0},
	})
	mustPassDataTests(t, w)
	full := openWarehouse(t)
	off = 0
	writeJSON(t, full, &off, events...)
	mustBuild(t, full, cfg, true)
	compareModels(t, w.DB, full.DB)
}
