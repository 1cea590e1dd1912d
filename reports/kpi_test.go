package reports

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"
)

const kpiDDL = `create table kpi_daily (
	day date, channel varchar, conversations bigint,
	frt_p50_s double, frt_p90_s double, agent_frt_p50_s double, agent_frt_p90_s double,
	escalation_rate double, containment_rate double, resolution_p50_s double,
	reopen_rate double, fcr_rate double, recontact_rate double, handoff_context_rate double,
	csat double, csat_responses bigint, nps double, nps_responses bigint,
	sla_breach_rate double)`

// testRows are four day × channel rows with nulls where a channel has no
// eligible conversation: email has no bot (no escalation, containment,
// recontact or handoff), webchat has no surveys and no known FCR.
const testRows = `insert into kpi_daily values
	('2026-11-01', 'whatsapp', 100,   30,   300,  120,   900, 0.20, 0.50,  3600, 0.05, 0.80, 0.10, 0.90, 0.90, 10,   50,  4, 0.10),
	('2026-11-01', 'email',     50, 7200, 36000, 7200, 36000, null, null, 86400, 0.02, 0.70, null, null, 0.60,  5,  -20,  5, 0.30),
	('2026-11-02', 'whatsapp', 300,   40,   400,  100,   800, 0.40, 0.30,  1800, 0.10, 0.60, 0.20, 0.80, 0.80, 20,   30, 10, 0.20),
	('2026-11-03', 'webchat',   10,    5,    50, null,  null, 0.30, 1.00,   600, null, null, 0.00, null, null,  0, null,  0, 0.00)`

func openDB(t *testing.T, stmts ...string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one in-memory database for every statement
	t.Cleanup(func() { db.Close() })
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return db
}

func render(t *testing.T, db *sql.DB, opts KPIOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := KPI(context.Background(), db, &b, opts); err != nil {
		t.Fatalf("KPI(%+v): %v", opts, err)
	}
	return b.String()
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSummarizeWeightsByConversationsAndResponses(t *testing.T) {
	db := openDB(t, kpiDDL, testRows)
	rows, err := loadKPIDaily(context.Background(), db, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 {
		t.Fatalf("got %d rows, want 4", len(rows))
	}
	f := summarize(rows)
	want := map[string]float64{
		// rates: weighted by conversations, over the rows where they are known
		"escalation":  (100*0.20 + 300*0.40 + 10*0.30) / 410,        // 0.3488, not the naive 0.30
		"containment": (100*0.50 + 300*0.30 + 10*1.00) / 410,        // 0.3659
		"fcr":         (100*0.80 + 50*0.70 + 300*0.60) / 450,        // 0.6556
		"recontact":   (100*0.10 + 300*0.20 + 10*0.00) / 410,        // 0.1707
		"handoff":     (100*0.90 + 300*0.80) / 400,                  // 0.825
		"sla":         (100*0.10 + 50*0.30 + 300*0.20 + 10*0) / 460, // 0.1848
		// surveys: weighted by responses
		"csat": (0.90*10 + 0.60*5 + 0.80*20) / 35, // 0.8
		"nps":  (50.0*4 - 20*5 + 30*10) / 19,      // 21.05
		// durations: weighted median; 5 s (10), 30 s (100), 40 s (300), 7200 s (50)
		// reach half of 460 at 40 s
		"frt50": 40,
		"frt90": 400,
		// agent FRT p50 has no webchat value: 100 s (300), 120 s (100),
		// 7200 s (50); half of 450 is reached by the first.
		"agent50": 100,
	}
	got := map[string]sql.NullFloat64{
		"escalation": f.EscalationRate, "containment": f.ContainmentRate, "fcr": f.FCRRate,
		"recontact": f.RecontactRate, "handoff": f.HandoffContextRate, "sla": f.SLABreachRate,
		"csat": f.CSAT, "nps": f.NPS, "frt50": f.FRTP50, "frt90": f.FRTP90, "agent50": f.AgentFRTP50,
	}
	for k, w := range want {
		g := got[k]
		if !g.Valid || math.Abs(g.Float64-w) > 1e-9 {
			t.Errorf("%s = %+v, want %v", k, g, w)
		}
	}
	if f.Conversations != 460 || f.CSATResponses != 35 || f.NPSResponses != 19 {
		t.Errorf("sums = %d conversations, %d csat, %d nps; want 460, 35, 19", f.Conversations, f.CSATResponses, f.NPSResponses)
	}
	// A rate null on every row stays null.
	g := summarize(rows[3:])
	if g.FCRRate.Valid || g.CSAT.Valid || g.NPS.Valid || g.AgentFRTP50.Valid {
		t.Errorf("webchat alone: null rates became %+v", g)
	}
}

func TestWeightedMedian(t *testing.T) {
	for _, c := range []struct {
		vs, ws []float64
		want   float64
		valid  bool
	}{
		{nil, nil, 0, false},
		{[]float64{7}, []float64{3}, 7, true},
		{[]float64{1, 3}, []float64{1, 1}, 2, true},           // exactly half: midpoint
		{[]float64{3, 1, 100}, []float64{1, 1, 5}, 100, true}, // heavy outlier wins
		{[]float64{4, 8}, []float64{0, 0}, 6, true},           // no weights: plain median
		{[]float64{4, 8}, []float64{0, 2}, 8, true},           // zero weight is absent
	} {
		got := weightedMedian(c.vs, c.ws)
		if got.Valid != c.valid || got.Float64 != c.want {
			t.Errorf("weightedMedian(%v, %v) = %+v, want %v", c.vs, c.ws, got, c.want)
		}
	}
}

func TestMarkdownHeadlineAndNulls(t *testing.T) {
	db := openDB(t, kpiDDL, testRows)
	md := render(t, db, KPIOptions{Title: "Weekly KPIs"})
	for _, want := range []string{
		"# Weekly KPIs",
		"**Period:** 2026-11-01 to 2026-11-03 (UTC)",
		"- **Conversations:** 460",
		"- **First response time p50 / p90:** 40 s / 6.7 min",
		"- **Escalation rate:** 34.9%",
		"- **Containment rate:** 36.6%",
		"- **First-contact resolution:** 65.6%",
		"- **Cross-channel recontact:** 17.1%",
		"- **CSAT:** 80.0% (35 responses)",
		"- **NPS:** +21 (19 responses)",
		"- **SLA breach rate:** 18.5%",
		"## By channel", "## By day", "## How these figures are computed",
		"median of the daily per-channel percentiles, weighted by conversations",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}
	// email has no escalation: a dash in its row, never 0%.
	email := tableRow(t, md, "email")
	cols := splitRow(email)
	if got := cols[colIndex(channelColumns, "escalation")]; got != dash {
		t.Errorf("email escalation = %q, want %q\n%s", got, dash, email)
	}
	webchat := splitRow(tableRow(t, md, "webchat"))
	for _, h := range []string{"agent FRT p50", "FCR", "CSAT", "NPS", "handoff context", "reopen"} {
		if got := webchat[colIndex(channelColumns, h)]; got != dash {
			t.Errorf("webchat %s = %q, want %q", h, got, dash)
		}
	}
	if got := webchat[colIndex(channelColumns, "recontact")]; got != "0.0%" {
		t.Errorf("webchat recontact = %q, want a real 0.0%%", got)
	}
	// The order of the per-channel table is by size.
	if i, j := strings.Index(md, "| whatsapp"), strings.Index(md, "| email"); i < 0 || j < 0 || i > j {
		t.Errorf("whatsapp (400 conversations) should come before email (50)")
	}
	if !strings.Contains(md, "| all channels") {
		t.Errorf("no all-channels row")
	}
}

// tableRow finds the Markdown table row whose first cell is first.
func tableRow(t *testing.T, md, first string) string {
	t.Helper()
	for _, line := range strings.Split(md, "\n") {
		if cells := splitRow(line); len(cells) > 0 && cells[0] == first {
			return line
		}
	}
	t.Fatalf("no row %q in\n%s", first, md)
	return ""
}

func splitRow(line string) []string {
	if !strings.HasPrefix(line, "|") {
		return nil
	}
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func colIndex(cols []tableColumn, head string) int {
	for i, c := range cols {
		if c.Head == head {
			return i
		}
	}
	panic("no column " + head)
}

func TestDateFiltering(t *testing.T) {
	db := openDB(t, kpiDDL, testRows)
	md := render(t, db, KPIOptions{From: day("2026-11-03"), To: day("2026-11-03")})
	for _, want := range []string{
		"**Period:** 2026-11-03 (UTC)",
		"- **Conversations:** 10",
		"- **First-contact resolution:** —",
		"- **CSAT:** —",
		"- **NPS:** —",
		"- **Escalation rate:** 30.0%",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q\n%s", want, md)
		}
	}
	if strings.Contains(md, "whatsapp") {
		t.Errorf("a day outside the range leaked in:\n%s", md)
	}
	// A From in another zone still means its own calendar date.
	sp := time.FixedZone("-03", -3*3600)
	recs := readCSV(t, render(t, db, KPIOptions{Format: "csv", From: time.Date(2026, 11, 2, 23, 30, 0, 0, sp)}))
	if len(recs) != 1+2 {
		t.Errorf("from 2026-11-02: got %d records, want header + 2", len(recs))
	}
	// An open To with data ending earlier says so.
	md = render(t, db, KPIOptions{From: day("2026-10-30"), To: day("2026-11-02")})
	if !strings.Contains(md, "2026-10-30 to 2026-11-02 (UTC); data for 2026-11-01 to 2026-11-02") {
		t.Errorf("period line: %s", strings.SplitN(md, "\n", 4)[2])
	}
}

func readCSV(t *testing.T, s string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(s)).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, s)
	}
	return recs
}

func TestCSV(t *testing.T) {
	db := openDB(t, kpiDDL, testRows)
	recs := readCSV(t, render(t, db, KPIOptions{Format: "csv"}))
	wantHeader := "day,channel,conversations,frt_p50_s,frt_p90_s,agent_frt_p50_s,agent_frt_p90_s," +
		"escalation_rate,containment_rate,resolution_p50_s,reopen_rate,fcr_rate,recontact_rate," +
		"handoff_context_rate,csat,csat_responses,nps,nps_responses,sla_breach_rate"
	if got := strings.Join(recs[0], ","); got != wantHeader {
		t.Errorf("header\n got %s\nwant %s", got, wantHeader)
	}
	if len(recs) != 1+4 {
		t.Fatalf("got %d records, want header + 4", len(recs))
	}
	at := func(rec []string, col string) string { return rec[slicesIndex(recs[0], col)] }
	email, whatsapp := recs[1], recs[2]
	if at(email, "day") != "2026-11-01" || at(email, "channel") != "email" {
		t.Fatalf("rows not ordered by day, channel: %v", recs)
	}
	if got := at(email, "escalation_rate"); got != "" {
		t.Errorf("null escalation_rate = %q, want empty", got)
	}
	if got := at(email, "frt_p90_s"); got != "36000" {
		t.Errorf("frt_p90_s = %q, want plain seconds 36000", got)
	}
	if got := at(email, "nps"); got != "-20" {
		t.Errorf("nps = %q", got)
	}
	if got := at(whatsapp, "escalation_rate"); got != "0.2" {
		t.Errorf("escalation_rate = %q, want the fraction 0.2", got)
	}
	for _, rec := range recs[1:] {
		for i, v := range rec[2:] {
			if v == "" {
				continue
			}
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				t.Errorf("%s = %q is not a plain number", recs[0][i+2], v)
			}
		}
	}
	// An empty range is the header alone.
	recs = readCSV(t, render(t, db, KPIOptions{Format: "csv", From: day("2030-01-01")}))
	if len(recs) != 1 {
		t.Errorf("empty range: %d records, want the header alone", len(recs))
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	panic("no column " + v)
}

func TestHTML(t *testing.T) {
	db := openDB(t, kpiDDL, testRows,
		// A channel that appears on one day only, with a name to escape.
		`insert into kpi_daily values ('2026-11-02', '<b>"odd"&|', 3, 60, 90, null, null, null, null, null, null, null, null, null, null, 0, null, 0, null)`)
	for name, opts := range map[string]KPIOptions{
		"all days":   {Format: "html", Title: "KPIs <&>"},
		"single day": {Format: "html", From: day("2026-11-02"), To: day("2026-11-02")},
	} {
		t.Run(name, func(t *testing.T) {
			page := render(t, db, opts)
			checkPage(t, page)
			if n := strings.Count(page, "<svg "); n != 4 {
				t.Errorf("%d charts, want 4 (conversations, FRT, CSAT, NPS)", n)
			}
			if strings.Contains(page, `<b>"odd"`) || !strings.Contains(page, "&lt;b&gt;") {
				t.Errorf("channel name not escaped")
			}
			if !strings.Contains(page, "By channel") || !strings.Contains(page, "<table>") {
				t.Errorf("no per-channel table")
			}
		})
	}
	page := render(t, db, KPIOptions{Format: "html"})
	if !strings.Contains(page, `<td class="num null">—</td>`) {
		t.Errorf("null cells are not shown as a dash")
	}
	if !strings.Contains(page, `<div class="value">34.9%</div>`) { // the odd channel's null escalation is left out
		t.Errorf("headline escalation missing or wrong")
	}
}

// checkPage parses the whole page as XML (the writer emits well-formed
// markup), parses each chart on its own, and checks that nothing is loaded
// from elsewhere.
func checkPage(t *testing.T, page string) {
	t.Helper()
	if err := parseXML(page); err != nil {
		t.Fatalf("page is not well-formed: %v", err)
	}
	for _, svg := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1) {
		if err := parseXML(svg); err != nil {
			t.Errorf("chart is not well-formed: %v\n%s", err, svg)
		}
	}
	for _, u := range regexp.MustCompile(`(?i)(https?:)?//[^\s"'<>)]+`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("external reference %q", u)
		}
	}
	for _, bad := range []string{"<script", "<link", "<img", "url(", "@import"} {
		if strings.Contains(strings.ToLower(page), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func parseXML(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if depth != 0 {
				return errors.New("unclosed elements")
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

func TestEmptyRange(t *testing.T) {
	db := openDB(t, kpiDDL, testRows)
	md := render(t, db, KPIOptions{From: day("2030-01-01"), To: day("2030-01-31")})
	if !strings.Contains(md, "No data in kpi_daily for this period.") || !strings.Contains(md, "2030-01-01 to 2030-01-31") {
		t.Errorf("empty markdown:\n%s", md)
	}
	page := render(t, db, KPIOptions{Format: "html", From: day("2030-01-01")})
	checkPage(t, page)
	if !strings.Contains(page, "No data in kpi_daily for this period.") || strings.Contains(page, "<svg") {
		t.Errorf("empty html:\n%s", page)
	}
	// An empty table, with no range, is not an error either.
	md = render(t, openDB(t, kpiDDL), KPIOptions{})
	if !strings.Contains(md, "all days (UTC)") || !strings.Contains(md, "No data") {
		t.Errorf("empty table:\n%s", md)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	err := KPI(ctx, db, io.Discard, KPIOptions{})
	var missing *MissingMartError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "cxlake refresh --data DIR") {
		t.Errorf("no kpi_daily: err = %v, want a *MissingMartError naming the refresh command", err)
	}

	err = KPI(ctx, db, io.Discard, KPIOptions{From: day("2026-11-05"), To: day("2026-11-01")})
	var rangeErr *RangeError
	if !errors.As(err, &rangeErr) || !strings.Contains(err.Error(), "2026-11-05 is after to 2026-11-01") {
		t.Errorf("backwards range: err = %v", err)
	}

	err = KPI(ctx, db, io.Discard, KPIOptions{Format: "pdf"})
	var formatErr *FormatError
	if !errors.As(err, &formatErr) {
		t.Errorf("format pdf: err = %v", err)
	}
}

func TestReadsAView(t *testing.T) {
	db := openDB(t, strings.Replace(kpiDDL, "kpi_daily", "kpi_daily_t", 1),
		strings.Replace(testRows, "kpi_daily", "kpi_daily_t", 1),
		`create view kpi_daily as select * from kpi_daily_t`)
	if md := render(t, db, KPIOptions{}); !strings.Contains(md, "- **Conversations:** 460") {
		t.Errorf("view:\n%s", md)
	}
}

func TestFormatting(t *testing.T) {
	for s, want := range map[float64]string{
		0: "0 s", 4.24: "4.2 s", 42: "42 s", 59.97: "1 min", 210: "3.5 min", 599.9: "10 min",
		2700: "45 min", 12600: "3.5 h", 86400 * 2: "2 d", 36000: "10 h",
	} {
		if got := fmtSeconds(s); got != want {
			t.Errorf("fmtSeconds(%v) = %q, want %q", s, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
	for v, want := range map[float64]string{21.05: "+21", -7.4: "-7", 0.2: "0", -0.2: "0"} {
		if got := fmtNPS(sql.NullFloat64{Float64: v, Valid: true}); got != want {
			t.Errorf("fmtNPS(%v) = %q, want %q", v, got, want)
		}
	}
}
