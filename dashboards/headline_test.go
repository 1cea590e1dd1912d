package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/reports"
)

// headlineStat is the stat panel of a decoded leadership model whose one
// target's refId names kpi; nil when there is none.
func headlineStat(model map[string]any, kpi string) map[string]any {
	panels, _ := model["panels"].([]any)
	for _, p := range panels {
		panel, _ := p.(map[string]any)
		ts, _ := panel["targets"].([]any)
		if panel["type"] != "stat" || len(ts) != 1 {
			continue
		}
		if ts[0].(map[string]any)["refId"] == kpi {
			return panel
		}
	}
	return nil
}

func leadershipModel(t *testing.T) map[string]any {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range all {
		if d.UID == "cxlake-leadership" {
			m, err := d.Model()
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("no leadership dashboard")
	return nil
}

// colourOf is the colour Grafana gives v under absolute thresholds: the
// colour of the last step whose value v reaches (the first step, value
// null, is minus infinity).
func colourOf(t *testing.T, thresholds any, v float64) string {
	t.Helper()
	raw, _ := json.Marshal(thresholds)
	var th struct {
		Mode  string
		Steps []struct {
			Color string
			Value *float64
		}
	}
	if err := json.Unmarshal(raw, &th); err != nil || th.Mode != "absolute" || len(th.Steps) == 0 || th.Steps[0].Value != nil {
		t.Fatalf("thresholds %s: want absolute steps from minus infinity", raw)
	}
	c := th.Steps[0].Color
	for _, s := range th.Steps[1:] {
		if v >= *s.Value {
			c = s.Color
		}
	}
	return c
}

// TestEveryHeadlineKPIHasAStatPanelWithThresholds: each of the KPI
// report's headline figures has a stat panel in the leadership dashboard's
// top rows, computed with the models' own expression (a KPI is defined in
// one place) over the zoned base, for the range and for as many days
// before it, with thresholds; the configured targets become its
// thresholds and say which way its change should go (issue 29 item 9).
func TestEveryHeadlineKPIHasAStatPanelWithThresholds(t *testing.T) {
	model := leadershipModel(t)
	heads := reports.HeadlineKPIs()
	if len(heads) != 11 {
		t.Fatalf("%d headline KPIs, want the report's 11", len(heads))
	}
	figure := map[string]models.KPIFigure{}
	for _, f := range models.KPIFigures {
		figure[f.Name] = f
	}
	for _, kpi := range heads {
		p := headlineStat(model, kpi)
		if p == nil {
			t.Errorf("headline KPI %s has no stat panel", kpi)
			continue
		}
		if y := p["gridPos"].(map[string]any)["y"].(float64); y > 7 {
			t.Errorf("%s: its stat panel is at row %v, not in the top rows", kpi, y)
		}
		sql := p["targets"].([]any)[0].(map[string]any)["rawSql"].(string)
		f := figure[kpi]
		if f.Expr == "" || strings.Count(sql, f.Expr) != 2 || strings.Count(sql, "from "+zonedBase()+"\n") != 2 ||
			!strings.Contains(sql, `as "this period"`) || !strings.Contains(sql, `as "vs previous period"`) {
			t.Errorf("%s: the panel does not compute the models' expression over the zoned base for the range and the days before:\n%s", kpi, sql)
		}
		if wantAnswers := kpi == "csat_share" || kpi == "nps"; wantAnswers != strings.Contains(sql, f.Sample+" as answers") {
			t.Errorf("%s: shows its answers: %v, want %v", kpi, !wantAnswers, wantAnswers)
		}
		th := p["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["thresholds"]
		if c := colourOf(t, th, 0); c != "text" {
			t.Errorf("%s: the shipped panel is coloured %s without a target", kpi, c)
		}
	}

	// Provisioned with targets, each stat is coloured by its own: a
	// figure on its target is on target from either side, as in the KPI
	// report; a change is good when it goes the right way.
	targets := map[string]reports.Target{
		"csat_share":      {Target: 0.8, Better: "higher"},
		"sla_breach_rate": {Target: 0.1, Better: "lower"},
		"frt_p90_s":       {Target: 120, Better: "lower"},
		"nps":             {Target: 30, Better: "higher"},
	}
	ctx := context.Background()
	f := newFakeGrafana(t, "12.1.0")
	opts := provisionOpts(f, adminToken)
	opts.Targets = targets
	if _, err := Provision(ctx, opts); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(f.dashboards["cxlake-leadership"]["dashboard"])
	var saved map[string]any
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		kpi                  string
		value, change        float64
		wantValue, wantDelta string
	}{
		{"csat_share", 0.8, 0, "green", "green"},
		{"csat_share", 0.79, -0.01, "red", "red"},
		{"csat_share", 0.95, 0.15, "green", "green"},
		{"sla_breach_rate", 0.1, 0, "green", "green"},
		{"sla_breach_rate", 0.1000001, 0.0000001, "red", "red"},
		{"sla_breach_rate", 0.02, -0.08, "green", "green"},
		{"frt_p90_s", 120, 1, "green", "red"},
		{"frt_p90_s", 121, -30, "red", "green"},
		{"nps", -5, 12, "red", "green"},
		{"nps", 30, -1, "green", "red"},
	} {
		p := headlineStat(saved, c.kpi)
		fc := p["fieldConfig"].(map[string]any)
		if got := colourOf(t, fc["defaults"].(map[string]any)["thresholds"], c.value); got != c.wantValue {
			t.Errorf("%s %v against %+v: %s, want %s", c.kpi, c.value, targets[c.kpi], got, c.wantValue)
		}
		var change any
		for _, o := range fc["overrides"].([]any) {
			om := o.(map[string]any)
			if om["matcher"].(map[string]any)["options"] != "vs previous period" {
				continue
			}
			for _, prop := range om["properties"].([]any) {
				if pm := prop.(map[string]any); pm["id"] == "thresholds" {
					change = pm["value"]
				}
			}
		}
		if got := colourOf(t, change, c.change); got != c.wantDelta {
			t.Errorf("%s: a change of %v is %s, want %s", c.kpi, c.change, got, c.wantDelta)
		}
	}
	// A KPI without a target keeps the shipped neutral colour.
	fc := headlineStat(saved, "fcr_rate")["fieldConfig"].(map[string]any)
	if got := colourOf(t, fc["defaults"].(map[string]any)["thresholds"], 0.5); got != "text" {
		t.Errorf("fcr_rate, no target: %s", got)
	}
	// The shipped file is unchanged by it, and a second run with the same
	// targets changes nothing.
	if got := colourOf(t, headlineStat(leadershipModel(t), "csat_share")["fieldConfig"].(map[string]any)["defaults"].(map[string]any)["thresholds"], 0.9); got != "text" {
		t.Errorf("provisioning changed the embedded dashboard: %s", got)
	}
	rep, err := Provision(ctx, opts)
	if err != nil || rep.Changed() {
		t.Errorf("a second run with the same targets: %v %s", err, actions(rep))
	}
	// A target the configuration would refuse is refused before anything
	// is written.
	writes := f.writeCount()
	opts.Targets = map[string]reports.Target{"conversations": {Target: 10, Better: "higher"}}
	var te *reports.TargetError
	if _, err := Provision(ctx, opts); !errors.As(err, &te) || f.writeCount() != writes {
		t.Errorf("a target on a count: %v, %d writes; want a *reports.TargetError and none", err, f.writeCount()-writes)
	}
}

// handEvent is one event of a hand-made conversation conv, as canonical
// JSON; fields are the type's own object (message, survey).
func handEvent(id, typ, at, conv, phone, actor string, fields map[string]any) []byte {
	e := map[string]any{
		"schema": "cx.event/v1", "event_id": id, "type": typ, "occurred_at": at, "source": "headline-test",
		"channel": "whatsapp", "conversation_id": conv, "contact": map[string]any{"phone": phone},
		"actor": map[string]any{"kind": actor},
	}
	for k, v := range fields {
		e[k] = v
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// TestHeadlineStatsByHand runs three headline stats through the gateway
// as grafana over five whatsapp conversations, each answered by a bot,
// worked out by hand:
//
//	conv  opened (UTC)       FRT   CSAT  UTC day  São Paulo (−3)  Kolkata (+5:30)
//	E     2026-03-08 12:00   40 s  —     03-08    03-08           03-08
//	A     2026-03-09 12:00   30 s  2     03-09    03-09           03-09
//	B     2026-03-10 12:00   10 s  5     03-10    03-10           03-10
//	C     2026-03-10 20:00   20 s  4     03-10    03-10 (17:00)   03-11 (01:30)
//	D     2026-03-11 02:30   60 s  —     03-11    03-10 (23:30)   03-11
//
// The previous period is as many days as the range holds, just before its
// first day: for 03-10, 03-09; for 03-10..03-11, 03-08 and 03-09.
// CSAT is the share of answers 4 or 5 (A's 2 is not).
//
//	range            zone       conversations  FRT p50 (s)         CSAT (answers)
//	03-10            UTC        B C = 2, A 1    10 20 → 15, 30     2/2 = 1 (2), 0/1
//	03-10            São Paulo  B C D = 3, A 1  10 20 60 → 20, 30  2/2 = 1 (2), 0/1
//	03-10            Kolkata    B = 1, A 1      10, 30             1/1 = 1 (1), 0/1
//	03-10..03-11     UTC        B C D = 3, E A 2  20, 30 40 → 35   2/2 = 1 (2), 0/1
//	03-08            UTC        E = 1, none     40, none           none (0), none
//	03-10 12:00 to 03-11 12:00, UTC: the days whose start lies in the range,
//	                 03-11: D = 1, 03-10 B C 2  60, 15             none (0), 2/2
//
// A range holding no day's start, and a zone not offered, show no data.
func TestHeadlineStatsByHand(t *testing.T) {
	var events [][]byte
	for i, c := range []struct {
		id, opened string
		frt        time.Duration
		csat       int
	}{
		{"e", "2026-03-08T12:00:00Z", 40 * time.Second, 0},
		{"a", "2026-03-09T12:00:00Z", 30 * time.Second, 2},
		{"b", "2026-03-10T12:00:00Z", 10 * time.Second, 5},
		{"c", "2026-03-10T20:00:00Z", 20 * time.Second, 4},
		{"d", "2026-03-11T02:30:00Z", 60 * time.Second, 0},
	} {
		at, _ := time.Parse(time.RFC3339, c.opened)
		conv, phone := "conv-"+c.id, fmt.Sprintf("+55119000004%02d", i)
		events = append(events,
			handEvent(c.id+"-1", "message", c.opened, conv, phone, "customer", map[string]any{"message": map[string]any{"direction": "inbound", "text": "help"}}),
			handEvent(c.id+"-2", "message", at.Add(c.frt).Format(time.RFC3339), conv, phone, "bot", map[string]any{"message": map[string]any{"direction": "outbound", "text": "hi"}}))
		if c.csat > 0 {
			events = append(events, handEvent(c.id+"-3", "survey", at.Add(5*time.Minute).Format(time.RFC3339), conv, phone, "customer",
				map[string]any{"survey": map[string]any{"kind": "csat", "score": c.csat}}))
		}
	}
	db := handGateway(t, events)
	conversations := leadershipPanel(t, "stat", "Conversations")
	frt := leadershipPanel(t, "stat", "First response time p50")
	csat := leadershipPanel(t, "stat", "CSAT")

	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC) }
	endOf := func(d int) time.Time { return day(d).Add(24*time.Hour - time.Millisecond) }
	for _, c := range []struct {
		name, tz            string
		from, to            time.Time
		conv, frtP50, csatS []string
	}{
		{"03-10", "UTC", day(10), endOf(10),
			[]string{"this period=2 vs previous period=1"},
			[]string{"this period=15 vs previous period=-15"},
			[]string{"this period=1 vs previous period=1 answers=2"}},
		{"03-10", "America/Sao_Paulo", day(10), endOf(10),
			[]string{"this period=3 vs previous period=2"},
			[]string{"this period=20 vs previous period=-10"},
			[]string{"this period=1 vs previous period=1 answers=2"}},
		{"03-10", "Asia/Kolkata", day(10), endOf(10),
			[]string{"this period=1 vs previous period=0"},
			[]string{"this period=10 vs previous period=-20"},
			[]string{"this period=1 vs previous period=1 answers=1"}},
		{"03-10..03-11", "UTC", day(10), endOf(11),
			[]string{"this period=3 vs previous period=1"},
			[]string{"this period=20 vs previous period=-15"},
			[]string{"this period=1 vs previous period=1 answers=2"}},
		{"03-08, nothing before", "UTC", day(8), endOf(8),
			[]string{"this period=1 vs previous period=<nil>"},
			[]string{"this period=40 vs previous period=<nil>"},
			[]string{"this period=<nil> vs previous period=<nil> answers=0"}},
		{"24 hours from noon", "UTC", day(10).Add(12 * time.Hour), day(11).Add(12 * time.Hour),
			[]string{"this period=1 vs previous period=-1"},
			[]string{"this period=60 vs previous period=45"},
			[]string{"this period=<nil> vs previous period=<nil> answers=0"}},
		{"06:00 to 18:00, no day's start", "UTC", day(10).Add(6 * time.Hour), day(10).Add(18 * time.Hour), nil, nil, nil},
		{"03-10, a zone not offered", "Asia/Kathmandu", day(10), endOf(10), nil, nil, nil},
	} {
		t.Run(c.name+" "+c.tz, func(t *testing.T) {
			for _, p := range []struct {
				panel panelTarget
				want  []string
			}{{conversations, c.conv}, {frt, c.frtP50}, {csat, c.csatS}} {
				if got := panelRows(t, db, p.panel, c.tz, c.from, c.to); !slices.Equal(got, p.want) {
					t.Errorf("%s:\n got %q\nwant %q", p.panel.Panel, got, p.want)
				}
			}
		})
	}
}
