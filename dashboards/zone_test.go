package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// zoneEvent is one customer message opening a conversation, as canonical
// JSON.
func zoneEvent(id, at, channel, phone string) []byte {
	b, err := json.Marshal(map[string]any{
		"schema": "cx.event/v1", "event_id": id, "type": "message", "occurred_at": at, "source": "zone-test",
		"channel": channel, "conversation_id": "conv-" + id, "contact": map[string]any{"phone": phone},
		"actor": map[string]any{"kind": "customer"}, "message": map[string]any{"direction": "inbound", "text": "help"},
	})
	if err != nil {
		panic(err)
	}
	return b
}

// handGateway writes events (canonical JSON) to a new warehouse through
// the ingest assembler, builds the models, starts a gateway over it and
// returns a connection as grafana: a warehouse small enough to work out
// every panel figure by hand.
func handGateway(t *testing.T, events [][]byte) querier {
	t.Helper()
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{HashKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	var msgs []ingest.Message
	for i, e := range events {
		msgs = append(msgs, ingest.Message{Topic: "cx.events", Partition: 0, Offset: int64(i), Value: e})
	}
	var asm ingest.Assembler
	b := asm.Assemble(msgs)
	b.StartedAt = time.Now()
	if len(b.Records) != len(events) {
		t.Fatalf("%d of %d events assembled: %+v", len(b.Records), len(events), b.DeadLetters)
	}
	if _, err := wh.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Rebuild(ctx, wh.DB, models.Config{HashKey: testKey}); err != nil {
		t.Fatal(err)
	}
	d := &demo{wh: wh}
	if err := startGateway(ctx, d); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d.gw.Shutdown(ctx)
	})
	return panelDB(t, d)
}

// leadershipPanel is the leadership panel of type typ titled title.
func leadershipPanel(t *testing.T, typ, title string) panelTarget {
	t.Helper()
	for _, p := range panelTargets(t) {
		if p.Dashboard == "cxlake-leadership" && p.PanelType == typ && p.Panel == title {
			return p
		}
	}
	t.Fatalf("the leadership dashboard has no %s panel %q", typ, title)
	return panelTarget{}
}

// panelRows runs a panel's SQL as Grafana sends it, with every channel and
// team and the zone tz, and returns its rows as text, "column=value ..."
// (a time as its UTC date, a null as <nil>).
func panelRows(t *testing.T, db querier, p panelTarget, tz string, from, to time.Time) []string {
	t.Helper()
	q := grafanaQuery{From: from, To: to, Interval: 24 * time.Hour, AllValue: leadershipAllValues(t),
		Vars: map[string][]string{"channel": {allSelected}, "team": {allSelected}, "tz": {tz}}}
	sql, err := q.expand(p.RawSQL)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := db.QueryContext(context.Background(), sql)
	if err != nil {
		t.Fatalf("%s in %q: %v\n%s", p, tz, err, sql)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out []string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, c := range cols {
			v := vals[i]
			if tv, ok := v.(time.Time); ok {
				v = tv.UTC().Format(time.DateOnly)
			}
			parts = append(parts, fmt.Sprintf("%s=%v", c, v))
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The leadership panels count the local days of the zone the tz variable
// names, from the quarter-hour base, through the gateway as grafana. Four
// conversations, worked out by hand (São Paulo is UTC-3 all year since
// 2019; Kolkata is UTC+5:30):
//
//	conversation  opened (UTC)       UTC day  São Paulo          Kolkata
//	K whatsapp    2026-03-10 23:30   03-10    03-10 20:30 → 03-10  03-11 05:00 → 03-11
//	S whatsapp    2026-03-11 01:30   03-11    03-10 22:30 → 03-10  03-11 07:00 → 03-11
//	Q whatsapp    2026-03-10 18:30   03-10    03-10 15:30 → 03-10  03-11 00:00 → 03-11 (its midnight)
//	M email       2026-03-10 12:00   03-10    03-10 09:00 → 03-10  03-10 17:30 → 03-10
//
// So the daily conversations by channel are, UTC: 03-10 whatsapp 2, email
// 1; 03-11 whatsapp 1. São Paulo: 03-10 whatsapp 3, email 1. Kolkata:
// 03-10 email 1; 03-11 whatsapp 3. The day 03-11 alone (a range of that
// date) holds 1, none and 3 conversations, against 3, 4 and 1 on 03-10,
// the day before: the headline stat shows 1 (-2), no data, and 3 (+2). A
// zone outside the allow-list, or a value that tries to close the quoted
// literal, selects no row: no data, never an error or another zone's
// figures.
func TestPanelsCountLocalDays(t *testing.T) {
	db := handGateway(t, [][]byte{
		zoneEvent("k", "2026-03-10T23:30:00Z", "whatsapp", "+5511900000301"),
		zoneEvent("s", "2026-03-11T01:30:00Z", "whatsapp", "+5511900000302"),
		zoneEvent("q", "2026-03-10T18:30:00Z", "whatsapp", "+5511900000303"),
		zoneEvent("m", "2026-03-10T12:00:00Z", "email", "+5511900000304"),
	})
	byChannel := leadershipPanel(t, "timeseries", "Conversations by channel")
	total := leadershipPanel(t, "stat", "Conversations")

	days := [2]time.Time{time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 12, 23, 59, 59, 999e6, time.UTC)}
	day11 := [2]time.Time{time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 11, 23, 59, 59, 999e6, time.UTC)}
	for _, c := range []struct {
		tz    string
		daily []string
		on11  []string
	}{
		{"UTC", []string{
			"time=2026-03-10 metric=email conversations=1",
			"time=2026-03-10 metric=whatsapp conversations=2",
			"time=2026-03-11 metric=whatsapp conversations=1",
		}, []string{"this period=1 vs previous period=-2"}},
		{"America/Sao_Paulo", []string{
			"time=2026-03-10 metric=email conversations=1",
			"time=2026-03-10 metric=whatsapp conversations=3",
		}, nil},
		{"Asia/Kolkata", []string{
			"time=2026-03-10 metric=email conversations=1",
			"time=2026-03-11 metric=whatsapp conversations=3",
		}, []string{"this period=3 vs previous period=2"}},
		// Valid IANA, not offered: no data. A value that tries to close
		// the literal is a literal: no data.
		{"Asia/Kathmandu", nil, nil},
		{"UTC' or '1'='1", nil, nil},
		{"UTC') as zone(name) on true) as kpi --", nil, nil},
	} {
		t.Run(c.tz, func(t *testing.T) {
			if got := panelRows(t, db, byChannel, c.tz, days[0], days[1]); !slices.Equal(got, c.daily) {
				t.Errorf("daily conversations by channel in %q:\n got %q\nwant %q", c.tz, got, c.daily)
			}
			if got := panelRows(t, db, total, c.tz, day11[0], day11[1]); !slices.Equal(got, c.on11) {
				t.Errorf("conversations on 2026-03-11 in %q: %q, want %q", c.tz, got, c.on11)
			}
		})
	}
}
