package dashboards

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// leadershipAllValues are the custom all values of the leadership
// dashboard's variables, as Grafana substitutes them for "All".
func leadershipAllValues(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, v := range loadDashboards(t)["cxlake-leadership"].Templating.List {
		if v.AllValue != nil {
			out[v.Name] = *v.AllValue
		}
	}
	return out
}

// "All" of channel and team is their custom all value, a subquery: on the
// demo warehouse every leadership panel gives the same frame as with every
// option selected one by one.
func TestAllValueEqualsEveryOption(t *testing.T) {
	ctx := context.Background()
	d := demoWarehouse(t)
	db := panelDB(t, d)
	all := leadershipAllValues(t)
	opts := multiOptions(ctx, t, db, loadDashboards(t)["cxlake-leadership"]) // tz keeps its default, UTC
	from, to := d.firstDay, d.lastDay.Add(24*time.Hour-time.Millisecond)
	each := grafanaQuery{From: from, To: to, Interval: 24 * time.Hour, Vars: opts}
	allQ := grafanaQuery{From: from, To: to, Interval: 24 * time.Hour, AllValue: all,
		Vars: map[string][]string{"channel": {allSelected}, "team": {allSelected}}}
	n := 0
	for _, p := range panelTargets(t) {
		if p.Dashboard != "cxlake-leadership" {
			continue
		}
		a, qa, err := runPanel(ctx, db, p, each)
		if err != nil {
			t.Fatalf("%s with every option: %v\n%s", p, err, qa)
		}
		b, qb, err := runPanel(ctx, db, p, allQ)
		if err != nil {
			t.Fatalf("%s with All: %v\n%s", p, err, qb)
		}
		if fa, fb := frameText(a), frameText(b); fa != fb {
			t.Errorf("%s: All gives\n%s\nevery option gives\n%s", p, fb, fa)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("compared only %d leadership targets", n)
	}
}

// On a warehouse with no conversation the variables have no options. The
// expansion of "All" as a list would be "channel in ()", a syntax error;
// the custom all value gives every panel no rows (Grafana's "No data")
// or, for a sum, a null: never an error.
func TestEmptyWarehouseShowsNoDataNotErrors(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{HashKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	if _, err := models.Rebuild(ctx, wh.DB, models.Config{HashKey: testKey}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	q := grafanaQuery{From: now.AddDate(0, 0, -7), To: now, Interval: 24 * time.Hour, AllValue: leadershipAllValues(t),
		Vars: map[string][]string{"channel": {allSelected}, "team": {allSelected}}}
	listed := grafanaQuery{From: q.From, To: q.To, Interval: q.Interval, Vars: map[string][]string{"channel": {}, "team": {}}}
	n := 0
	for _, p := range panelTargets(t) {
		// channel_slas is the configuration, not data: an empty
		// warehouse has the default SLAs.
		if p.Dashboard != "cxlake-leadership" || slices.Contains(relationsOf(p.RawSQL), "channel_slas") {
			continue
		}
		frame, query, err := runPanel(ctx, wh.DB, p, q)
		if err != nil {
			t.Errorf("%s on an empty warehouse: %v\n%s", p, err, query)
			continue
		}
		for i := 0; i < frame.Rows(); i++ {
			for _, f := range frame.Fields {
				if v, ok := f.ConcreteAt(i); ok && f.Type().Numeric() && fmt.Sprint(v) != "0" {
					t.Errorf("%s on an empty warehouse: %s = %v", p, f.Name, v)
				}
			}
		}
		if _, _, err := runPanel(ctx, wh.DB, p, listed); err == nil && strings.Contains(p.RawSQL, "in ($channel)") {
			t.Errorf("%s: the list expansion of no options ran; the test does not show what it claims", p)
		}
		n++
	}
	if n < 15 {
		t.Fatalf("ran only %d leadership targets", n)
	}
}

// frameText is a frame's rows as text, for comparing two frames.
func frameText(fr *data.Frame) string {
	var b strings.Builder
	for i := 0; i < fr.Rows(); i++ {
		for _, fl := range fr.Fields {
			v, _ := fl.ConcreteAt(i)
			fmt.Fprintf(&b, "%s=%v ", fl.Name, v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
