package models

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/warehouse"
)

// Golden scenarios: hand-written events (golden_events_test.go), loaded
// through the decoder and the warehouse writer in three batches, refreshed
// incrementally after each, and checked against values worked out by hand.
// A full rebuild of the same events must agree row for row.

// goldenConfig: email keeps business hours in São Paulo (UTC-3, no DST
// since 2019), Monday to Friday 09:00-18:00, closed on 16 November every
// year, on 17 November 2026 and on 13 November 2025. Everything else is default:
// FCR window 7 days; SLA whatsapp/telegram/instagram/webchat 300 s, sms 900 s,
// voice 60 s, email 86400 s. The clock stands at goldenNow.
func goldenConfig() Config {
	day := [][2]string{{"09:00", "18:00"}}
	return Config{HashKey: testKey, Now: func() time.Time { return goldenNow }, Schedules: map[string]Schedule{
		"channel:email": {TZ: "America/Sao_Paulo", Weekly: map[time.Weekday][][2]string{
			time.Monday: day, time.Tuesday: day, time.Wednesday: day, time.Thursday: day, time.Friday: day},
			Holidays: []string{"11-16", "2026-11-17", "2025-11-13"}},
	}}
}

// goldenNow is the clock the golden figures are worked out against:
// 2026-11-20T12:00:00Z, the instant of the latest golden event (J's NPS,
// m5). FCR windows and unanswered SLA deadlines are open or closed as of then.
var goldenNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// keyOf computes a contact_key as docs/models.md specifies it, independently
// of the code under test: the first 16 bytes, in hex, of HMAC-SHA256 under
// the key of "cxlake/contact_key/v1", a zero byte, then the representative
// identifier's kind and identifier hash, each as len(part) ":" part.
func keyOf(kind, value string) string {
	return hmacHex("cxlake/contact_key/v1", kind, identifierHashOf(kind, value))
}

// identifierHashOf is an identifier_hash, computed the same way over the
// identifier's kind and normalized value.
func identifierHashOf(kind, value string) string {
	return hmacHex("cxlake/identifier/v1", kind, value)
}

func hmacHex(domain string, parts ...string) string {
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte(domain + "\x00"))
	for _, p := range parts {
		m.Write([]byte(strconv.Itoa(len(p)) + ":" + p))
	}
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ts marks an expected timestamp.
type ts string

type row = map[string]any

func TestGolden(t *testing.T) {
	ctx := context.Background()
	cfg := goldenConfig()
	w := openWarehouse(t)
	var offset int64
	batches := goldenBatches()

	writeJSON(t, w, &offset, batches[0]...)
	if st := mustBuild(t, w, cfg, false); !st.Full || st.Reason != "first build" {
		t.Fatalf("first refresh: %+v, want a full first build", st)
	}
	mustPassDataTests(t, w)

	writeJSON(t, w, &offset, batches[1]...)
	if st := mustBuild(t, w, cfg, false); st.Full {
		t.Fatalf("second refresh rebuilt fully: %s", st.Reason)
	}
	mustPassDataTests(t, w)
	t.Run("before the late link", func(t *testing.T) { checkBeforeLink(t, w.DB) })

	writeJSON(t, w, &offset, batches[2]...)
	if st := mustBuild(t, w, cfg, false); st.Full {
		t.Fatalf("third refresh rebuilt fully: %s", st.Reason)
	}
	mustPassDataTests(t, w)
	t.Run("incremental", func(t *testing.T) { checkGolden(t, w.DB) })

	// The same events in one warehouse, one full build.
	full := openWarehouse(t)
	offset = 0
	for _, b := range batches {
		writeJSON(t, full, &offset, b...)
	}
	if _, err := Rebuild(ctx, full.DB, cfg); err != nil {
		t.Fatal(err)
	}
	mustPassDataTests(t, full)
	t.Run("full", func(t *testing.T) { checkGolden(t, full.DB) })
	compareModels(t, w.DB, full.DB)

	// A refresh with nothing new does nothing.
	if st := mustBuild(t, w, cfg, false); st.Full || len(st.Steps) != 0 {
		t.Errorf("idle refresh: %+v, want no steps", st)
	}
}

func checkBeforeLink(t *testing.T, db *sql.DB) {
	// The webchat visitor is still a person of their own; H's email
	// conversation has no follow-up yet, so it counts as FCR.
	checkRows(t, db, "conversations", "conversation_id", map[string]row{
		"wc-11": {"contact_key": keyOf("id:webchat", "v-123"), "fcr": true},
		"em-12": {"contact_key": keyOf("email", "hana@example.com"), "fcr": true, "recontact_other_channel": false},
		// E's inbound message has not arrived: no FRT, no resolution time, no SLA verdict.
		"em-5": {"first_inbound_at": nil, "frt_s": nil, "resolution_s": nil, "sla_breached": nil,
			"first_response_at": nil, "resolved_at": ts("2026-11-09T13:30:00Z"), "event_count": 3.0},
	})
	checkRows(t, db, "kpi_daily", "day || '|' || channel", map[string]row{
		"2026-11-01|email": {"fcr_rate": 1.0, "recontact_rate": 0.0},
	})
	checkCount(t, db, "select count(*) from contacts", 14)
}

func checkGolden(t *testing.T, db *sql.DB) {
	checkCount(t, db, "select count(*) from events", 84) // 87 delivered, 3 duplicates
	checkCount(t, db, "select count(*) from conversations", 16)
	checkCount(t, db, "select sum(event_count) from conversations", 81)
	checkCount(t, db, "select count(*) from contacts", 13)
	checkCount(t, db, "select count(*) from kpi_daily", 16)

	checkRows(t, db, "conversations", "conversation_id", map[string]row{
		// A: bot-only resolution.
		"wa-1": {"contact_key": keyOf("phone", "+5511900000001"), "channel": "whatsapp", "team": nil,
			"opened_at": ts("2026-11-02T10:00:00Z"), "first_inbound_at": ts("2026-11-02T10:00:01Z"),
			"first_response_at": ts("2026-11-02T10:00:03Z"), "frt_s": 2.0, "agent_frt_s": nil,
			"frt_business_s": 2.0, "agent_frt_business_s": nil,
			"bot_handled": true, "escalated": false, "handoff_at": nil, "handoff_has_context": nil,
			"resolved_at": ts("2026-11-02T10:01:30Z"), "resolution_s": 89.0, "reopened": false,
			"fcr": true, "recontact_other_channel": false, "csat_score": 4.0, "nps_score": nil,
			"sla_breached": false, "event_count": 6.0},
		// B: bot to human with context; the private note at 11:01:00 is no response.
		"wa-2": {"contact_key": keyOf("phone", "+5511900000002"), "team": "billing",
			"frt_s": 10.0, "agent_frt_s": 180.0, "frt_business_s": 10.0, "agent_frt_business_s": 180.0,
			"agent_first_response_at": ts("2026-11-02T11:03:33Z"),
			"bot_handled":             true, "escalated": true, "handoff_at": ts("2026-11-02T11:00:33Z"), "handoff_has_context": true,
			"resolution_s": 398.0, "reopened": false, "fcr": true, "csat_score": 3.0, "sla_breached": false, "event_count": 12.0},
		// C: handoff without context.
		"ig-3": {"contact_key": keyOf("id:instagram", "carol.ig"), "team": "support", "frt_s": 4.0, "agent_frt_s": 600.0,
			"escalated": true, "handoff_has_context": false, "resolution_s": 699.0, "fcr": true, "sla_breached": false},
		// D: email answered next morning: 14.5 h on the clock, 1.5 h of business time (09:00-10:30).
		"em-4": {"contact_key": keyOf("email", "dave@example.com"), "opened_at": ts("2026-11-03T22:59:59Z"),
			"first_inbound_at": ts("2026-11-03T23:00:00Z"), "first_response_at": ts("2026-11-04T13:30:00Z"),
			"frt_s": 52200.0, "frt_business_s": 5400.0, "agent_frt_s": 52200.0, "agent_frt_business_s": 5400.0,
			"bot_handled": false, "escalated": false, "resolution_s": 54000.0, "nps_score": 9.0, "sla_breached": false, "fcr": true},
		// E: Friday 17:00 to Monday 10:00 in São Paulo: 65 h on the clock, 2 h of business time; out of order.
		"em-5": {"opened_at": ts("2026-11-06T19:59:00Z"), "first_inbound_at": ts("2026-11-06T20:00:00Z"),
			"first_response_at": ts("2026-11-09T13:00:00Z"), "frt_s": 234000.0, "frt_business_s": 7200.0,
			"agent_frt_s": 234000.0, "agent_frt_business_s": 7200.0, "resolved_at": ts("2026-11-09T13:30:00Z"),
			"resolution_s": 235800.0, "sla_breached": true, "fcr": true, "event_count": 4.0},
		// S: reopened, then resolved again.
		"sms-6": {"frt_s": 60.0, "agent_frt_s": 60.0, "first_resolved_at": ts("2026-11-04T09:01:40Z"),
			"resolved_at": ts("2026-11-04T10:03:20Z"), "resolution_s": 3790.0, "reopened": true,
			"fcr": false, "recontact_other_channel": false, "nps_score": 6.0, "sla_breached": false,
			"bot_handled": false, "escalated": false},
		// F: came back on email inside the window.
		"wa-7": {"contact_key": keyOf("email", "fiona@example.com"), "frt_s": 60.0, "resolution_s": 115.0,
			"fcr": false, "recontact_other_channel": true, "recontact_at": ts("2026-11-07T10:00:00Z")},
		"em-8": {"contact_key": keyOf("email", "fiona@example.com"), "frt_s": 3600.0, "frt_business_s": 0.0,
			"fcr": true, "recontact_other_channel": false},
		// G: came back on whatsapp after the window.
		"tg-9": {"contact_key": keyOf("id:telegram", "gabe_tg"), "frt_s": 2.0, "resolution_s": 29.0,
			"fcr": true, "recontact_other_channel": false, "bot_handled": true, "escalated": false},
		"wa-10": {"contact_key": keyOf("id:telegram", "gabe_tg"), "frt_s": 60.0, "resolution_s": 299.0, "fcr": true},
		// H: the late link makes the webchat visit a return inside the email's window.
		"em-12": {"contact_key": keyOf("email", "hana@example.com"), "frt_s": 7200.0, "frt_business_s": 0.0,
			"resolution_s": 10800.0, "fcr": false, "recontact_other_channel": true},
		"wc-11": {"contact_key": keyOf("email", "hana@example.com"), "channel": "webchat", "frt_s": 2.0,
			"frt_business_s": 2.0, "resolution_s": 8.0, "fcr": true, "recontact_other_channel": false},
		// J: FCR window still open.
		"wa-13": {"frt_s": 3.0, "resolved_at": ts("2026-11-18T10:05:00Z"), "fcr": nil, "recontact_other_channel": nil},
		// W: the agent's private note at 10:00:30 is no reply and no escalation;
		// the bot answered at 10:00:04 (3 s) and resolved at 10:01:00 (59 s).
		"wa-15": {"contact_key": keyOf("phone", "+5511900000015"), "frt_s": 3.0, "agent_frt_s": nil,
			"bot_handled": true, "escalated": false, "handoff_at": nil, "resolution_s": 59.0, "sla_breached": false},
		// X: Friday 20:00Z to Tuesday 13:00Z is 89 h on the clock; in business
		// hours only Friday 17:00-18:00 is open (Monday and Tuesday are
		// holidays): 3600 s.
		"em-16": {"contact_key": keyOf("email", "xavier@example.com"), "frt_s": 320400.0, "frt_business_s": 3600.0,
			"agent_frt_s": 320400.0, "agent_frt_business_s": 3600.0, "resolution_s": 322200.0},
		// V: unanswered past the voice SLA.
		"vo-14": {"frt_s": nil, "sla_breached": true, "resolved_at": nil, "fcr": nil, "reopened": false,
			"bot_handled": false, "escalated": false},
	})

	checkRows(t, db, "kpi_daily", "day || '|' || channel", map[string]row{
		"2026-11-02|whatsapp": {"conversations": 2.0, "frt_p50_s": 6.0, "frt_p90_s": 9.2,
			"agent_frt_p50_s": 180.0, "agent_frt_p90_s": 180.0, "escalation_rate": 0.5, "containment_rate": 0.5,
			"resolution_p50_s": 243.5, "reopen_rate": 0.0, "fcr_rate": 1.0, "recontact_rate": 0.0,
			"handoff_context_rate": 1.0, "csat_share": 0.5, "csat": 0.5, "csat_responses": 2.0, "nps": 0.0, "nps_responses": 1.0,
			"sla_breach_rate": 0.0},
		"2026-11-02|telegram": {"conversations": 1.0, "frt_p50_s": 2.0, "escalation_rate": 0.0, "containment_rate": 1.0,
			"fcr_rate": 1.0, "handoff_context_rate": nil, "csat_share": nil, "csat": nil, "csat_responses": 0.0, "nps": nil, "sla_breach_rate": 0.0},
		"2026-11-03|instagram": {"escalation_rate": 1.0, "containment_rate": 0.0, "handoff_context_rate": 0.0, "agent_frt_p50_s": 600.0},
		"2026-11-03|email": {"conversations": 1.0, "nps": 100.0, "nps_responses": 1.0, "escalation_rate": nil,
			"containment_rate": nil, "frt_p50_s": 52200.0},
		"2026-11-04|sms":      {"reopen_rate": 1.0, "fcr_rate": 0.0, "nps": -100.0, "resolution_p50_s": 3790.0},
		"2026-11-01|email":    {"fcr_rate": 0.0, "recontact_rate": 1.0, "frt_p50_s": 7200.0},
		"2026-11-05|whatsapp": {"fcr_rate": 0.0, "recontact_rate": 1.0},
		"2026-11-06|email":    {"sla_breach_rate": 1.0, "frt_p50_s": 234000.0},
		"2026-11-07|email":    {"fcr_rate": 1.0, "sla_breach_rate": 0.0},
		"2026-11-11|whatsapp": {"conversations": 1.0, "frt_p50_s": 3.0, "escalation_rate": 0.0, "containment_rate": 1.0,
			"agent_frt_p50_s": nil, "sla_breach_rate": 0.0},
		"2026-11-18|whatsapp": {"conversations": 1.0, "fcr_rate": nil, "recontact_rate": nil, "containment_rate": 1.0},
		"2026-11-19|voice": {"sla_breach_rate": 1.0, "frt_p50_s": nil, "reopen_rate": nil, "containment_rate": nil,
			"escalation_rate": nil},
		"2026-11-20|none": {"conversations": 0.0, "nps": 0.0, "nps_responses": 1.0, "csat_responses": 0.0,
			"frt_p50_s": nil, "sla_breach_rate": nil, "fcr_rate": nil},
	})

	checkRows(t, db, "kpi_daily_team", "day || '|' || channel || '|' || team", map[string]row{
		"2026-11-02|whatsapp|billing": {"conversations": 1.0, "escalation_rate": 1.0, "containment_rate": 0.0, "csat_share": 0.0, "csat": 0.0},
		"2026-11-02|whatsapp|none": {"conversations": 1.0, "csat_share": 1.0, "csat": 1.0, "csat_responses": 1.0, "nps": 0.0,
			"nps_responses": 1.0, "escalation_rate": 0.0},
	})

	checkRows(t, db, "contacts", "contact_key", map[string]row{
		keyOf("email", "hana@example.com"): {"identifiers": 2.0, "emails": 1.0, "channel_ids": 1.0,
			"conversations": 2.0, "channels": 2.0, "channel_list": "email,webchat", "first_seen_at": ts("2026-11-01T09:59:00Z")},
		keyOf("phone", "+5511900000001"): {"identifiers": 1.0, "phones": 1.0, "conversations": 1.0},
	})
	checkRows(t, db, "contact_identities", "identifier_kind || ':' || identifier_value", map[string]row{
		"phone:+5511900000001":   {"contact_key": keyOf("phone", "+5511900000001"), "identifier_hash": identifierHashOf("phone", "+5511900000001")},
		"id:webchat:v-123":       {"contact_key": keyOf("email", "hana@example.com"), "first_seen_at": ts("2026-11-06T14:00:00Z")},
		"email:dave@example.com": {"contact_key": keyOf("email", "dave@example.com")},
	})

	// The timeline of H: both channels and the link, in time order.
	got := column(t, db, "select event_id || '@' || coalesce(channel, '-') from timeline where contact_key = ?", keyOf("email", "hana@example.com"))
	want := "j1@email j2@email j3@email j4@email k1@webchat k2@webchat k3@webchat k4@webchat l1@webchat"
	if strings.Join(got, " ") != want {
		t.Errorf("timeline of H:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	got = column(t, db, "select event_id from timeline where contact_key = ?", keyOf("phone", "+5511900000001"))
	if strings.Join(got, " ") != "a1 a2 a3 a4 a5 a6 a7" {
		t.Errorf("timeline of A: %v", got)
	}
}

func checkCount(t *testing.T, db *sql.DB, q string, want int64) {
	t.Helper()
	var n int64
	if err := db.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if n != want {
		t.Errorf("%s = %d, want %d", q, n, want)
	}
}

func column(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// checkRows compares the given columns of the rows whose key expression
// equals each map key.
func checkRows(t *testing.T, db *sql.DB, table, keyExpr string, want map[string]row) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cols := make([]string, 0, len(want[k]))
		for c := range want[k] {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		q := fmt.Sprintf("select %s from %s where %s = ?", strings.Join(cols, ", "), table, keyExpr)
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := db.QueryRow(q, k).Scan(ptrs...); err != nil {
			t.Errorf("%s[%s]: %v", table, k, err)
			continue
		}
		for i, c := range cols {
			if !same(vals[i], want[k][c]) {
				t.Errorf("%s[%s].%s = %v, want %v", table, k, c, show(vals[i]), want[k][c])
			}
		}
	}
}

func same(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case ts:
		g, ok := got.(time.Time)
		wt, err := time.Parse(time.RFC3339, string(w))
		return ok && err == nil && g.Equal(wt)
	case float64:
		g, ok := number(got)
		return ok && math.Abs(g-w) < 1e-6
	default:
		return got == want
	}
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(n).Float64()
		return f, true
	}
	return 0, false
}

func show(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%v (%T)", v, v)
}

var _ = warehouse.DBFile
