package models

import (
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// "Now" for the models is the clock (Config.Now), never the latest event.
// The clock stands at T = 2025-06-10T12:00:00Z; other people's events are
// stamped 10 minutes and a year after it, as a producer whose clock runs
// ahead would stamp them.
//
//   - P, whatsapp wa-p: opened and asks at T-2h, the bot answers 5 s later,
//     resolved at T-1h. Its FCR window ends at T-1h+7d, after T: fcr and
//     recontact_other_channel are null, is_fcr_window_closed false. (Judged
//     against the year-ahead event, it would be true.)
//   - Q, whatsapp wa-q: asks at T-1m, nobody answers. The whatsapp SLA of
//     300 s ends at T+4m, after T: sla_breached is null. (Judged against the
//     event at T+10m, it would be true.)
//   - U, sms sm-u: asks at T+10m. S, whatsapp wa-s: asks at T+365d.
//
// kpi_daily on 2025-06-10 for whatsapp: P (FRT 5 s, within 300 s) is the
// only SLA verdict, so sla_breach_rate = 0/1 = 0; fcr_rate is null (no
// window closed).
func TestModelsJudgeAgainstTheClock(t *testing.T) {
	T := time.Date(2025, 6, 10, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) string { return T.Add(d).Format(time.RFC3339) }
	clock := T
	cfg := testConfig()
	cfg.Now = func() time.Time { return clock }

	p, q, u, s := obj{"phone": "+5511900000101"}, obj{"phone": "+5511900000102"}, obj{"phone": "+5511900000103"}, obj{"phone": "+5511900000104"}
	events := []string{
		opened("p1", at(-2*time.Hour), "whatsapp", "wa-p", p),
		inbound("p2", at(-2*time.Hour), "whatsapp", "wa-p", p),
		outbound("p3", at(-2*time.Hour+5*time.Second), "whatsapp", "wa-p", p, bot),
		resolved("p4", at(-time.Hour), "whatsapp", "wa-p", p, bot),
		inbound("q1", at(-time.Minute), "whatsapp", "wa-q", q),
		inbound("u1", at(10*time.Minute), "sms", "sm-u", u),
		inbound("s1", at(365*24*time.Hour), "whatsapp", "wa-s", s),
	}
	inc := openWarehouse(t)
	var off int64
	writeJSON(t, inc, &off, events...)
	if st := mustBuild(t, inc, cfg, false); !st.Full {
		t.Fatalf("first refresh was not a full build: %+v", st)
	}
	atT := func(t *testing.T) {
		checkRows(t, inc.DB, "int_conversations_joined", "conversation_id", map[string]row{
			"wa-p": {"frt_s": 5.0, "sla_breached": false, "fcr": nil, "recontact_other_channel": nil, "is_fcr_window_closed": false},
			"wa-q": {"frt_s": nil, "sla_breached": nil},
			"sm-u": {"sla_breached": nil},
		})
		checkRows(t, inc.DB, "kpi_daily", "strftime(day, '%Y-%m-%d') || '|' || channel", map[string]row{
			"2025-06-10|whatsapp": {"conversations": 2.0, "sla_breach_rate": 0.0, "fcr_rate": nil},
		})
	}
	t.Run("at T", atT)

	// A refresh with no new batch and a clock that passed no window or
	// deadline does nothing.
	clock = T.Add(3 * time.Minute)
	if st := mustBuild(t, inc, cfg, false); st.Full || len(st.Steps) != 0 {
		t.Errorf("refresh at T+3m: %+v, want no steps (no deadline between T and T+3m)", st)
	}

	// T+5m: Q's deadline (T+4m) passed. No new batch, yet Q is re-judged,
	// incrementally, Q alone: 1 breach of 2 verdicts.
	clock = T.Add(5 * time.Minute)
	st := mustBuild(t, inc, cfg, false)
	if st.Full || st.Contacts != 1 {
		t.Errorf("refresh at T+5m: %+v, want an incremental build of 1 person", st)
	}
	checkRows(t, inc.DB, "int_conversations_joined", "conversation_id", map[string]row{"wa-q": {"sla_breached": true}})
	checkRows(t, inc.DB, "kpi_daily", "strftime(day, '%Y-%m-%d') || '|' || channel", map[string]row{
		"2025-06-10|whatsapp": {"sla_breach_rate": 0.5, "fcr_rate": nil},
	})

	// T+7d: P's window (ends T-1h+7d) closed with no reopening and no other
	// conversation of P: FCR, and no cross-channel recontact. U's sms SLA
	// (900 s, ends T+25m) passed unanswered: breached.
	clock = T.Add(7 * 24 * time.Hour)
	if st := mustBuild(t, inc, cfg, false); st.Full {
		t.Errorf("refresh at T+7d rebuilt fully: %s", st.Reason)
	}
	checkRows(t, inc.DB, "int_conversations_joined", "conversation_id", map[string]row{
		"wa-p": {"fcr": true, "recontact_other_channel": false, "is_fcr_window_closed": true},
		"sm-u": {"sla_breached": true},
	})
	checkRows(t, inc.DB, "kpi_daily", "strftime(day, '%Y-%m-%d') || '|' || channel", map[string]row{
		"2025-06-10|whatsapp": {"fcr_rate": 1.0, "recontact_rate": 0.0, "sla_breach_rate": 0.5},
	})

	// A full build at the same clock agrees row for row.
	full := openWarehouse(t)
	off = 0
	writeJSON(t, full, &off, events...)
	mustBuild(t, full, cfg, true)
	compareModels(t, inc.DB, full.DB)

	// A clock set back to T re-judges the same conversations the other way.
	clock = T
	if st := mustBuild(t, inc, cfg, false); st.Full || st.Contacts != 3 {
		t.Errorf("refresh back at T: %+v, want an incremental build of P, Q and U", st)
	}
	t.Run("back at T", atT)
	mustPassDataTests(t, inc)
}

// model_freshness's ages are measured against the clock when queried and
// are never negative, even when the latest event was stamped ahead of it
// (within the skew ingest allows).
func TestFreshnessAgesAreNeverNegative(t *testing.T) {
	w := openWarehouse(t)
	ahead := time.Now().Add(30 * time.Minute)
	dec := event.Decoder{Now: func() time.Time { return ahead }} // the producer's clock runs 30 minutes ahead
	var off int64
	writeJSONWith(t, w, dec, &off, inbound("f1", ahead.Format(time.RFC3339), "whatsapp", "wa-f", obj{"phone": "+5511900000105"}))
	mustBuild(t, w, testConfig(), false)
	var dataAge, buildAge float64
	var maxAt time.Time
	if err := w.DB.QueryRow("select data_age_s, build_age_s, built_max_event_at from model_freshness").Scan(&dataAge, &buildAge, &maxAt); err != nil {
		t.Fatal(err)
	}
	if !maxAt.After(time.Now()) {
		t.Fatalf("built_max_event_at %v is not ahead of the clock; the test does not test anything", maxAt)
	}
	if dataAge != 0 || buildAge < 0 {
		t.Errorf("data_age_s = %v, build_age_s = %v; want 0 for data stamped ahead, and a non-negative build age", dataAge, buildAge)
	}
}
