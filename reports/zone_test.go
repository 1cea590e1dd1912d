package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// Three whatsapp conversations, each answered by a bot:
//
//	c1 opens 2026-03-10T12:00Z (São Paulo 09:00 on 03-10, Kolkata 17:30 on 03-10), FRT 10 s
//	c2 opens 2026-03-10T20:00Z (São Paulo 17:00 on 03-10, Kolkata 01:30 on 03-11), FRT 20 s
//	c3 opens 2026-03-11T02:30Z (São Paulo 23:30 on 03-10, Kolkata 08:00 on 03-11), FRT 60 s
//
// In São Paulo days (UTC-3) all three opened on 2026-03-10: 3
// conversations, FRT p50 20 s. In UTC days: 2 on 03-10 (p50 of 10 and 20
// = 15 s) and 1 on 03-11. In Kolkata days (UTC+05:30, a half-hour offset):
// 1 on 03-10 and 2 on 03-11 (p50 of 20 and 60 = 40 s).
func TestKPIInATimeZone(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{HashKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	var dec event.Decoder
	b := &warehouse.Batch{StartedAt: time.Now()}
	for i, c := range []struct {
		opened string
		frt    time.Duration
	}{{"2026-03-10T12:00:00Z", 10 * time.Second}, {"2026-03-10T20:00:00Z", 20 * time.Second}, {"2026-03-11T02:30:00Z", time.Minute}} {
		at, _ := time.Parse(time.RFC3339, c.opened)
		conv := fmt.Sprintf("wa-z%d", i+1)
		contact := fmt.Sprintf(`{"phone":"+55119000002%02d"}`, i)
		for j, m := range []struct {
			at        time.Time
			actor, dr string
		}{{at, "customer", "inbound"}, {at.Add(c.frt), "bot", "outbound"}} {
			raw := fmt.Sprintf(`{"schema":"cx.event/v1","event_id":"z-%d-%d","type":"message","occurred_at":%q,"source":"test","channel":"whatsapp","conversation_id":%q,"contact":%s,"actor":{"kind":%q},"message":{"direction":%q,"text":"x"}}`,
				i, j, m.at.Format(time.RFC3339), conv, contact, m.actor, m.dr)
			ev, err := dec.Decode([]byte(raw))
			if err != nil {
				t.Fatal(err)
			}
			b.Records = append(b.Records, warehouse.Record{Event: ev, Topic: "t", Offset: int64(len(b.Records))})
		}
	}
	if _, err := wh.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := models.Rebuild(ctx, wh.DB, models.Config{HashKey: testKey}); err != nil {
		t.Fatal(err)
	}

	type day struct {
		Day           string   `json:"day"`
		Conversations int64    `json:"conversations"`
		FRTP50        *float64 `json:"frt_p50_s"`
	}
	report := func(zone string) (map[string]day, string) {
		t.Helper()
		var out bytes.Buffer
		if err := KPI(ctx, wh.DB, &out, KPIOptions{Format: "json", Zone: zone}); err != nil {
			t.Fatalf("zone %q: %v", zone, err)
		}
		var doc struct {
			Period struct {
				TimeZone string `json:"time_zone"`
			} `json:"period"`
			Days []day `json:"days"`
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		m := map[string]day{}
		for _, d := range doc.Days {
			m[d.Day] = d
		}
		return m, doc.Period.TimeZone
	}
	for _, c := range []struct {
		zone, label string
		want        map[string][2]float64 // day -> conversations, frt p50
	}{
		{"", "UTC", map[string][2]float64{"2026-03-10": {2, 15}, "2026-03-11": {1, 60}}},
		{"America/Sao_Paulo", "America/Sao_Paulo", map[string][2]float64{"2026-03-10": {3, 20}}},
		{"Asia/Kolkata", "Asia/Kolkata", map[string][2]float64{"2026-03-10": {1, 10}, "2026-03-11": {2, 40}}},
	} {
		got, label := report(c.zone)
		if label != c.label {
			t.Errorf("zone %q: period.time_zone = %q, want %q", c.zone, label, c.label)
		}
		if len(got) != len(c.want) {
			t.Errorf("zone %q: days %v, want %v", c.zone, got, c.want)
		}
		for d, w := range c.want {
			g := got[d]
			if float64(g.Conversations) != w[0] || g.FRTP50 == nil || *g.FRTP50 != w[1] {
				t.Errorf("zone %q day %s: %d conversations, FRT p50 %v; want %v, %v", c.zone, d, g.Conversations, g.FRTP50, w[0], w[1])
			}
		}
	}

	// The live report takes the zone as ?tz=: the same São Paulo day; a bad
	// zone is a 400 naming the parameter.
	h := KPIHandler(wh.DB, nil, func(next http.Handler) http.Handler { return next }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/reports/kpi?format=json&tz=America/Sao_Paulo&from=2026-03-10&to=2026-03-10", nil))
	var doc struct {
		Overall struct {
			Conversations int64 `json:"conversations"`
		} `json:"overall"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); rec.Code != http.StatusOK || err != nil || doc.Overall.Conversations != 3 {
		t.Errorf("GET ?tz=America/Sao_Paulo for 2026-03-10: %d, %v, %d conversations; want 200 and 3", rec.Code, err, doc.Overall.Conversations)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/reports/kpi?format=json&from=2026-03-10&to=2026-03-10", nil))
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); rec.Code != http.StatusOK || err != nil || doc.Overall.Conversations != 2 {
		t.Errorf("GET (UTC) for 2026-03-10: %d, %v, %d conversations; want 200 and 2", rec.Code, err, doc.Overall.Conversations)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/reports/kpi?tz=Mars/Olympus", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "tz is not a known time zone") || strings.Contains(rec.Body.String(), "Mars") {
		t.Errorf("GET ?tz=Mars/Olympus: %d %s; want 400 naming tz, not the value", rec.Code, rec.Body.String())
	}

	// A name that is no IANA zone, or that could break out of the SQL
	// literal, is refused before the database is touched, naming the field.
	for _, bad := range []string{"Mars/Olympus", "UTC'; drop table events; --", "../etc"} {
		err := KPI(ctx, wh.DB, &bytes.Buffer{}, KPIOptions{Format: "json", Zone: bad})
		var ze *ZoneError
		if !errors.As(err, &ze) {
			t.Errorf("zone %q: err %v, want a *ZoneError", bad, err)
		}
	}
}
