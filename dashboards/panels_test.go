package dashboards

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"github.com/grafana/grafana-plugin-sdk-go/data/sqlutil"
)

// panelTarget is one query of one panel, as stored in the dashboard JSON.
type panelTarget struct {
	Dashboard, Panel, PanelType string
	PanelID                     int
	MinInterval                 string // the panel's "interval", Grafana's minimum $__interval
	RefID, Format, RawSQL       string
}

func (p panelTarget) String() string {
	return fmt.Sprintf("%s/%d %q (%s)", p.Dashboard, p.PanelID, p.Panel, p.RefID)
}

// dashboardJSON is the part of the dashboard model the tests read.
type dashboardJSON struct {
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Panels     []panelJSON `json:"panels"`
	Templating struct {
		List []variableJSON `json:"list"`
	} `json:"templating"`
}

type panelJSON struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Interval   string          `json:"interval"`
	Datasource *datasourceRef  `json:"datasource"`
	GridPos    gridPos         `json:"gridPos"`
	Targets    []targetJSON    `json:"targets"`
	Panels     []panelJSON     `json:"panels"` // collapsed rows
	Raw        json.RawMessage `json:"-"`
}

type gridPos struct{ X, Y, W, H int }

type targetJSON struct {
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`
	Format     string         `json:"format"`
	RawQuery   bool           `json:"rawQuery"`
	EditorMode string         `json:"editorMode"`
	RawSQL     string         `json:"rawSql"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variableJSON struct {
	Current struct {
		Value any `json:"value"`
	} `json:"current"`
	Options []struct {
		Value    string `json:"value"`
		Selected bool   `json:"selected"`
	} `json:"options"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Query      string         `json:"query"`
	Definition string         `json:"definition"`
	Multi      bool           `json:"multi"`
	IncludeAll bool           `json:"includeAll"`
	AllValue   *string        `json:"allValue"`
	Datasource *datasourceRef `json:"datasource"`
}

func loadDashboards(t *testing.T) map[string]dashboardJSON {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dashboardJSON{}
	for _, d := range all {
		var dj dashboardJSON
		if err := json.Unmarshal(d.JSON, &dj); err != nil {
			t.Fatalf("%s: %v", d.File, err)
		}
		out[d.UID] = dj
	}
	return out
}

// allPanels returns the panels of d, those inside collapsed rows included.
func allPanels(d dashboardJSON) []panelJSON {
	var out []panelJSON
	for _, p := range d.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

func panelTargets(t *testing.T) []panelTarget {
	t.Helper()
	var out []panelTarget
	for uid, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			for _, tg := range p.Targets {
				out = append(out, panelTarget{Dashboard: uid, Panel: p.Title, PanelType: p.Type, PanelID: p.ID,
					MinInterval: p.Interval, RefID: tg.RefID, Format: tg.Format, RawSQL: tg.RawSQL})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Dashboard != out[j].Dashboard {
			return out[i].Dashboard < out[j].Dashboard
		}
		if out[i].PanelID != out[j].PanelID {
			return out[i].PanelID < out[j].PanelID
		}
		return out[i].RefID < out[j].RefID
	})
	return out
}

// effectiveInterval is $__interval for a panel: the wanted interval, raised
// to the panel's minimum interval as Grafana does.
func effectiveInterval(t *testing.T, minInterval string, want time.Duration) time.Duration {
	t.Helper()
	if minInterval == "" {
		return want
	}
	m, err := gtime.ParseInterval(minInterval)
	if err != nil {
		t.Fatalf("panel interval %q: %v", minInterval, err)
	}
	return max(m, want)
}

// runPanel runs one expanded target and converts the result the way
// Grafana's SQL data sources do: rows to a data frame (sqlutil.FrameFromRows),
// a numeric "time" column from epoch seconds to time, and, for the time
// series format, long frames to wide (data.LongToWide), which fails unless
// the rows are sorted by time.
func runPanel(ctx context.Context, db querier, p panelTarget, q grafanaQuery) (*data.Frame, string, error) {
	query, err := q.expand(p.RawSQL)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, query, fmt.Errorf("running the query: %w", err)
	}
	defer rows.Close()
	frame, err := sqlutil.FrameFromRows(rows, -1, numericConverter)
	if err != nil {
		return nil, query, fmt.Errorf("reading the rows into a data frame: %w", err)
	}
	if err := epochToTime(frame); err != nil {
		return nil, query, err
	}
	if p.Format != "time_series" || frame.Rows() == 0 {
		return frame, query, nil
	}
	var timeField *data.Field
	for _, f := range frame.Fields {
		if f.Name == "time" {
			timeField = f
		}
	}
	if timeField == nil {
		return nil, query, fmt.Errorf("time series without a column named time")
	}
	for i, f := range frame.Fields {
		if f == timeField || f.Name == "metric" {
			continue
		}
		if !f.Type().Numeric() {
			return nil, query, fmt.Errorf("value column %d (%s) is %s, not numeric", i, f.Name, f.Type())
		}
	}
	switch s := frame.TimeSeriesSchema(); s.Type {
	case data.TimeSeriesTypeNot:
		return nil, query, fmt.Errorf("not a time series: no numeric value column")
	case data.TimeSeriesTypeLong:
		if _, err := data.LongToWide(frame, nil); err != nil {
			return nil, query, fmt.Errorf("long to wide, as Grafana does for a metric column: %w", err)
		}
	}
	return frame, query, nil
}

// numericConverter reads arbitrary-precision numbers (PostgreSQL's
// numeric, which DuckDB's hugeint and decimal travel as) into float64, as
// Grafana's PostgreSQL data source does; sqlutil would keep them as text.
var numericConverter = sqlutil.Converter{
	Name:           "numeric to float64",
	InputScanType:  reflect.TypeFor[any](),
	InputTypeRegex: regexp.MustCompile(`^(NUMERIC|HUGEINT|DECIMAL.*)$`),
	FrameConverter: sqlutil.FrameConverter{
		FieldType: data.FieldTypeNullableFloat64,
		ConverterFunc: func(in any) (any, error) {
			var text string
			switch v := (*in.(*any)).(type) {
			case nil:
				return (*float64)(nil), nil
			case float64:
				return &v, nil
			case int64:
				f := float64(v)
				return &f, nil
			case string:
				text = v
			case []byte:
				text = string(v)
			case fmt.Stringer: // *big.Int, duckdb.Decimal
				text = v.String()
			default:
				return nil, fmt.Errorf("numeric column holds %T", v)
			}
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return nil, fmt.Errorf("numeric %q: %w", text, err)
			}
			return &f, nil
		},
	},
}

// querier is what runs panel queries: the gateway through pgx (database/sql).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// epochToTime converts a numeric column named time (epoch seconds, as
// $__timeGroupAlias makes) to a time column, as Grafana's SQL data sources
// do, and checks that it is ascending.
func epochToTime(frame *data.Frame) error {
	for i, f := range frame.Fields {
		if f.Name != "time" {
			continue
		}
		if f.Type().Time() {
			return nil
		}
		out := data.NewFieldFromFieldType(data.FieldTypeNullableTime, f.Len())
		out.Name = f.Name
		for r := 0; r < f.Len(); r++ {
			v, ok := f.ConcreteAt(r)
			if !ok {
				continue
			}
			var secs float64
			switch n := v.(type) {
			case float64:
				secs = n
			case float32:
				secs = float64(n)
			case int64:
				secs = float64(n)
			case int32:
				secs = float64(n)
			default:
				return fmt.Errorf("time column holds %T, not epoch seconds", v)
			}
			tm := time.Unix(0, int64(secs*1e9)).UTC()
			out.Set(r, &tm)
		}
		frame.Fields[i] = out
		return nil
	}
	return nil
}

// multiOptions returns the options of dj's multi-value variables (channel
// and team); tz, single-valued, is left to its default.
func multiOptions(ctx context.Context, t *testing.T, db querier, dj dashboardJSON) map[string][]string {
	t.Helper()
	opts := map[string][]string{}
	for _, v := range dj.Templating.List {
		if v.Multi {
			opts[v.Name] = variableOptions(ctx, t, db, v)
		}
	}
	return opts
}

// variableOptions runs a variable's query and returns its options.
func variableOptions(ctx context.Context, t *testing.T, db querier, v variableJSON) []string {
	t.Helper()
	if v.Type == "custom" {
		return strings.Split(v.Query, ",")
	}
	rows, err := db.QueryContext(ctx, v.Query)
	if err != nil {
		t.Fatalf("variable %s: %v", v.Name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("variable %s: %v", v.Name, err)
	}
	return out
}

// scenario is one choice of time range, interval and variables.
type scenario struct {
	name     string
	from, to time.Time
	interval time.Duration
	vars     map[string][]string
	// wantRows: every panel must return rows.
	wantRows bool
}

func scenarios(ctx context.Context, t *testing.T, db querier, d *demo, uid string, dj dashboardJSON) []scenario {
	t.Helper()
	now := time.Now().UTC()
	switch uid {
	case "cxlake-leadership":
		opts := multiOptions(ctx, t, db, dj)
		for name, o := range opts {
			if len(o) < 2 {
				t.Fatalf("variable %s has options %v", name, o)
			}
		}
		real := func(vals []string) []string {
			var out []string
			for _, v := range vals {
				if v != "none" {
					out = append(out, v)
				}
			}
			return out
		}
		chans, teams := real(opts["channel"]), real(opts["team"])
		from, to := d.firstDay, d.lastDay.Add(24*time.Hour-time.Millisecond)
		return []scenario{
			{name: "All channels and teams, daily", from: from, to: to, interval: 24 * time.Hour, vars: opts, wantRows: true},
			{name: "All, weekly", from: from, to: to, interval: 7 * 24 * time.Hour, vars: opts, wantRows: true},
			{name: "All, daily, in São Paulo's days", from: from, to: to, interval: 24 * time.Hour, wantRows: true,
				vars: map[string][]string{"channel": opts["channel"], "team": opts["team"], "tz": {"America/Sao_Paulo"}}},
			{name: "two channels, two teams, 2d", from: from, to: to, interval: 48 * time.Hour,
				vars: map[string][]string{"channel": chans[:2], "team": teams[:2]}},
			{name: "one channel, every team, a week from a ms-precise start", from: from.Add(36*time.Hour + 123*time.Millisecond),
				to: from.Add(8 * 24 * time.Hour), interval: time.Hour, vars: map[string][]string{"channel": chans[:1], "team": opts["team"]}},
		}
	case "cxlake-pipeline":
		return []scenario{
			{name: "last hour, 1m", from: d.ingestedAt.Add(-time.Hour), to: now.Add(time.Minute), interval: time.Minute, wantRows: true},
			{name: "last 6h, 5m", from: d.ingestedAt.Add(-6 * time.Hour), to: now.Add(time.Minute), interval: 5 * time.Minute, wantRows: true},
		}
	default:
		return []scenario{
			{name: "last 90 days, daily", from: now.Add(-90 * 24 * time.Hour), to: now, interval: 24 * time.Hour, wantRows: true},
			{name: "last 7 days, hourly", from: now.Add(-7 * 24 * time.Hour), to: now, interval: time.Hour},
		}
	}
}

// TestPanelQueries runs every panel's SQL, expanded as Grafana expands it,
// for several time ranges, intervals and variable choices, and checks the
// shape Grafana needs: time series have a time column, numeric values and
// rows sorted by time; stats return one row.
func TestPanelQueries(t *testing.T) {
	ctx := context.Background()
	d := demoWarehouse(t)
	db := panelDB(t, d)
	dashboards := loadDashboards(t)
	targets := panelTargets(t)
	if len(targets) < 30 {
		t.Fatalf("only %d panel targets", len(targets))
	}
	start := time.Now()
	ran := 0
	defer func() { checkGrafanaAudit(ctx, t, d, start, ran) }()
	for uid, dj := range dashboards {
		for _, sc := range scenarios(ctx, t, db, d, uid, dj) {
			t.Run(uid+"/"+sc.name, func(t *testing.T) {
				for _, p := range targets {
					if p.Dashboard != uid {
						continue
					}
					q := grafanaQuery{From: sc.from, To: sc.to, Interval: effectiveInterval(t, p.MinInterval, sc.interval), Vars: sc.vars}
					frame, query, err := runPanel(ctx, db, p, q)
					ran++
					if err != nil {
						t.Errorf("%s: %v\n%s", p, err, query)
						continue
					}
					if frame.Rows() == 0 {
						if sc.wantRows && !mayBeEmpty(p) {
							t.Errorf("%s returned no rows\n%s", p, query)
						}
						continue
					}
					if p.PanelType == "stat" {
						// A stat panel reduces the numeric fields of one row.
						numeric := 0
						for _, f := range frame.Fields {
							if f.Type().Numeric() {
								numeric++
							}
						}
						if frame.Rows() != 1 || numeric == 0 {
							t.Errorf("%s: a stat panel's query returned %d rows, %d numeric columns; want one row with a number", p, frame.Rows(), numeric)
						}
					}
				}
			})
		}
	}
}

// checkGrafanaAudit reads what the gateway recorded of the test's queries
// as user grafana: every one audited, none refused or failed, and none
// referencing a relation outside dashboards.Relations.
func checkGrafanaAudit(ctx context.Context, t *testing.T, d *demo, since time.Time, ran int) {
	t.Helper()
	if err := flushAudit(ctx, d); err != nil {
		t.Fatal(err)
	}
	allowed := make([]string, len(Relations))
	for i, r := range Relations {
		allowed[i] = "main." + r
	}
	var total, failed, outside int
	err := d.wh.DB.QueryRowContext(ctx, `select count(*), count(*) filter (where outcome <> 'ok'),
		count(*) filter (where len(list_filter(relations, r -> not list_contains(?::varchar[], r))) > 0)
		from gateway_queries where user_name = 'grafana' and role = 'grafana' and received_at >= ?`, allowed, since).Scan(&total, &failed, &outside)
	if err != nil {
		t.Fatal(err)
	}
	if total < ran || failed != 0 || outside != 0 {
		t.Errorf("gateway audit of the panel queries: %d recorded for %d run, %d not ok, %d outside dashboards.Relations", total, ran, failed, outside)
	}
}

// mayBeEmpty names the panels whose marts the demo warehouse leaves
// empty: none.
func mayBeEmpty(panelTarget) bool { return false }

// TestPanelsAgreeWithKPIDaily checks the leadership panels' numbers, not just
// their shape: with every team selected, conversations per channel and the
// FRT percentiles of one day equal kpi_daily's, computed by the models
// independently.
func TestPanelsAgreeWithKPIDaily(t *testing.T) {
	ctx := context.Background()
	d := demoWarehouse(t)
	db := panelDB(t, d)
	opts := multiOptions(ctx, t, db, loadDashboards(t)["cxlake-leadership"])
	byTitle := map[string][]panelTarget{}
	for _, p := range panelTargets(t) {
		if p.Dashboard == "cxlake-leadership" {
			byTitle[p.Panel] = append(byTitle[p.Panel], p)
		}
	}
	// The busiest day and channel, so the percentiles are over many values.
	var day time.Time
	var channel string
	var wantP50, wantP90 float64
	var wantConversations int64
	if err := d.wh.DB.QueryRowContext(ctx, `select day::timestamp, channel, frt_p50_s, frt_p90_s, conversations from kpi_daily
		where frt_p90_s is not null order by conversations desc, day, channel limit 1`).Scan(&day, &channel, &wantP50, &wantP90, &wantConversations); err != nil {
		t.Fatal(err)
	}
	vars := map[string][]string{"channel": {channel}, "team": opts["team"]}
	q := grafanaQuery{From: day, To: day.Add(24*time.Hour - time.Millisecond), Interval: 24 * time.Hour, Vars: vars}

	frt := byTitle["First response time, p50 and p90, by channel"]
	if len(frt) != 2 {
		t.Fatalf("FRT panel has %d targets", len(frt))
	}
	for i, want := range []float64{wantP50, wantP90} {
		frame, query, err := runPanel(ctx, db, frt[i], q)
		if err != nil {
			t.Fatalf("%s: %v\n%s", frt[i], err, query)
		}
		if frame.Rows() != 1 {
			t.Fatalf("%s: %d rows for one day and one channel\n%s", frt[i], frame.Rows(), query)
		}
		got, _ := frame.Fields[2].ConcreteAt(0)
		if g := toFloat(got); math.Abs(g-want) > 1e-6 {
			t.Errorf("%s on %s %s: %v, kpi_daily says %v", frt[i], day.Format(time.DateOnly), channel, g, want)
		}
	}
	conv := byTitle["Conversations by channel"][0]
	frame, query, err := runPanel(ctx, db, conv, q)
	if err != nil {
		t.Fatalf("%s: %v\n%s", conv, err, query)
	}
	if frame.Rows() != 1 {
		t.Fatalf("%s: %d rows for one day and one channel\n%s", conv, frame.Rows(), query)
	}
	if got, _ := frame.Fields[2].ConcreteAt(0); toFloat(got) != float64(wantConversations) {
		t.Errorf("%s on %s %s: %v conversations, kpi_daily says %d", conv, day.Format(time.DateOnly), channel, got, wantConversations)
	}
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case float32:
		return float64(n)
	case int64:
		return float64(n)
	case int32:
		return float64(n)
	case int:
		return float64(n)
	case *float64:
		if n != nil {
			return *n
		}
	}
	return math.NaN()
}
