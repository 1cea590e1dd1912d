package models

import (
	"testing"
	"time"
)

// Each SLA runs on its own clock: elapsed time (the default) or business
// hours. Email's SLA is 4 h (14 400 s); the schedule is channel:email, in
// America/Sao_Paulo (UTC-3 all year since 2019), Monday to Friday
// 09:00-18:00, with Monday 2026-03-16 a holiday. 2026-03-06 and 2026-03-13
// are Fridays, 2026-03-07 a Saturday, 2026-03-09 a Monday. Worked out by
// hand:
//
//   - A (em-a): asks Fri 03-06 17:00 local (20:00Z), answered Mon 03-09
//     10:00 local (13:00Z). Clock: 65 h = 234 000 s > 14 400, breached.
//     Business: Fri 17-18 (1 h) + Mon 09-10 (1 h) = 7 200 s, within.
//   - B (em-b): asks Fri 03-06 16:00 local (19:00Z), never answered.
//     Clock: deadline Fri 23:00Z, passed at either clock below: breached.
//     Business: Fri 16-18 gives 2 h, the other 2 h run Mon 09:00-11:00
//     local, so it is due Mon 03-09 14:00Z. At 13:30Z (3.5 business hours)
//     it is pending (null); at 14:30Z, breached.
//   - C (em-c): asks Sat 03-07 10:00 local (13:00Z), answered 15:00 local
//     (18:00Z). Clock: 5 h = 18 000 s, breached. Business: 0 s, within.
//   - D (em-d): asks Fri 03-13 17:00 local (20:00Z), never answered.
//     Business: Fri 17-18 gives 1 h; Mon 03-16 is a holiday; the other
//     3 h run Tue 03-17 09:00-12:00 local: due 2026-03-17T15:00Z, after
//     both clocks, so pending on business hours. (Judged on the clock
//     from 03-13 20:00Z + 4 h, it is breached at neither build clock,
//     as both lie before 03-13.)
//
// kpi_daily, email: on 03-06 (A, B) the clock gives 2 breaches of 2
// verdicts, 1.0; business hours at 13:30Z 0 of 1 (B pending), 0.0, and at
// 14:30Z 1 of 2, 0.5. On 03-07 (C): clock 1.0, business 0.0.
func TestSLAClockBusinessOrElapsed(t *testing.T) {
	a, b, c, d := obj{"phone": "+5511900000201"}, obj{"phone": "+5511900000202"}, obj{"phone": "+5511900000203"}, obj{"phone": "+5511900000204"}
	events := []string{
		inbound("a1", "2026-03-06T20:00:00Z", "email", "em-a", a),
		outbound("a2", "2026-03-09T13:00:00Z", "email", "em-a", a, agent("support")),
		inbound("b1", "2026-03-06T19:00:00Z", "email", "em-b", b),
		inbound("c1", "2026-03-07T13:00:00Z", "email", "em-c", c),
		outbound("c2", "2026-03-07T18:00:00Z", "email", "em-c", c, agent("support")),
		inbound("d1", "2026-03-13T20:00:00Z", "email", "em-d", d),
	}
	clock := time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC)
	config := func(clk Clock) Config {
		cfg := testConfig()
		cfg.Now = func() time.Time { return clock }
		cfg.SLA = map[string]time.Duration{"email": 4 * time.Hour}
		cfg.SLAClock = map[string]Clock{"email": clk}
		cfg.Schedules = map[string]Schedule{"channel:email": {
			TZ: "America/Sao_Paulo",
			Weekly: map[time.Weekday][][2]string{
				time.Monday: {{"09:00", "18:00"}}, time.Tuesday: {{"09:00", "18:00"}}, time.Wednesday: {{"09:00", "18:00"}},
				time.Thursday: {{"09:00", "18:00"}}, time.Friday: {{"09:00", "18:00"}},
			},
			Holidays: []string{"2026-03-16"},
		}}
		return cfg
	}
	day := "strftime(day, '%Y-%m-%d') || '|' || channel"

	t.Run("clock", func(t *testing.T) {
		w := openWarehouse(t)
		var off int64
		writeJSON(t, w, &off, events...)
		mustBuild(t, w, config(SLAOnClock), true)
		checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
			"em-a": {"frt_s": 234000.0, "frt_business_s": 7200.0, "sla_clock": "clock", "sla_breached": true},
			"em-b": {"sla_clock": "clock", "sla_breached": true},
			"em-c": {"frt_s": 18000.0, "frt_business_s": 0.0, "sla_clock": "clock", "sla_breached": true},
			"em-d": {"sla_clock": "clock", "sla_breached": nil},
		})
		checkRows(t, w.DB, "kpi_daily", day, map[string]row{
			"2026-03-06|email": {"sla_breach_rate": 1.0},
			"2026-03-07|email": {"sla_breach_rate": 1.0},
		})
		checkRows(t, w.DB, "channel_slas", "channel", map[string]row{"email": {"sla_s": 14400.0, "sla_clock": "clock"}})
		mustPassDataTests(t, w)
	})

	t.Run("business", func(t *testing.T) {
		clock = time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC)
		w := openWarehouse(t)
		var off int64
		writeJSON(t, w, &off, events...)
		mustBuild(t, w, config(SLAOnBusinessHours), false)
		checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
			"em-a": {"frt_business_s": 7200.0, "sla_clock": "business", "sla_breached": false},
			"em-b": {"sla_clock": "business", "sla_breached": nil},
			"em-c": {"frt_business_s": 0.0, "sla_clock": "business", "sla_breached": false},
			"em-d": {"sla_clock": "business", "sla_breached": nil},
		})
		checkRows(t, w.DB, "int_conversations_business_timed", "conversation_id", map[string]row{
			"em-a": {"sla_business_due_at": nil},
			"em-b": {"sla_business_due_at": ts("2026-03-09T14:00:00Z")},
			"em-d": {"sla_business_due_at": ts("2026-03-17T15:00:00Z")},
		})
		checkRows(t, w.DB, "kpi_daily", day, map[string]row{
			"2026-03-06|email": {"sla_breach_rate": 0.0},
			"2026-03-07|email": {"sla_breach_rate": 0.0},
		})
		checkRows(t, w.DB, "channel_slas", "channel", map[string]row{"email": {"sla_s": 14400.0, "sla_clock": "business"}})

		// Past B's business deadline, with no new batch: B alone is
		// re-judged, incrementally.
		clock = time.Date(2026, 3, 9, 14, 30, 0, 0, time.UTC)
		if st := mustBuild(t, w, config(SLAOnBusinessHours), false); st.Full || st.Contacts != 1 {
			t.Errorf("refresh past B's business deadline: %+v, want an incremental build of 1 person", st)
		}
		checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{"em-b": {"sla_breached": true}})
		checkRows(t, w.DB, "kpi_daily", day, map[string]row{"2026-03-06|email": {"sla_breach_rate": 0.5}})

		full := openWarehouse(t)
		off = 0
		writeJSON(t, full, &off, events...)
		mustBuild(t, full, config(SLAOnBusinessHours), true)
		compareModels(t, w.DB, full.DB)
		mustPassDataTests(t, w)
	})
}
