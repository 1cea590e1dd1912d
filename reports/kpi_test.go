package reports

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/models"
)

func render(t *testing.T, db *sql.DB, opts KPIOptions) string {
	t.Helper()
	var b bytes.Buffer
	if err := KPI(context.Background(), db, &b, opts); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestColumnsAreTheKPIFigures(t *testing.T) {
	if len(kpiColumns) != len(models.KPIFigures) {
		t.Fatalf("%d report columns, %d KPI figures", len(kpiColumns), len(models.KPIFigures))
	}
	for i, f := range models.KPIFigures {
		if kpiColumns[i].name != f.Name || (kpiColumns[i].count != nil) != (f.Kind == models.KPICount) {
			t.Errorf("column %d is %s, figure %s", i, kpiColumns[i].name, f.Name)
		}
	}
}

// TestFormatsAgree renders the month in every format, with targets, and
// checks that each shows the same figures, flags the misses and the small
// samples, and stamps the time.
func TestFormatsAgree(t *testing.T) {
	db := fixture(t).DB
	from, to := fixtureStart, fixtureStart.AddDate(0, 0, 29)
	now := time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC)
	opts := KPIOptions{From: from, To: to, Now: now, Targets: map[string]Target{
		"sla_breach_rate": {Target: 0.05, Better: "lower"},
		"csat_share":      {Target: 0.01, Better: "higher"},
	}}
	var want struct{ breach float64 }
	if err := db.QueryRow(`select count(*) filter (where sla_breached)::double / count(sla_breached) from conversations
		where channel = 'voice' and opened_at >= ? and opened_at < ?`, from, to.AddDate(0, 0, 1)).Scan(&want.breach); err != nil {
		t.Fatal(err)
	}
	if want.breach <= 0.05 {
		t.Fatalf("voice breaches %.3f of its SLA: the test needs a miss", want.breach)
	}

	opts.Format = "json"
	doc := reportJSON(t, db, opts)
	if doc["generated_at"] != "2026-12-05T09:30:00Z" {
		t.Errorf("generated_at = %v", doc["generated_at"])
	}
	voice := doc["channels"].(map[string]any)["voice"].(map[string]any)
	if voice["sla_breach_rate"] != want.breach {
		t.Errorf("voice sla_breach_rate = %v, want %v", voice["sla_breach_rate"], want.breach)
	}
	if !contains(voice["target_misses"], "sla_breach_rate") || contains(voice["target_misses"], "csat_share") {
		t.Errorf("voice target_misses = %v, want sla_breach_rate and not csat_share", voice["target_misses"])
	}
	// A one-day channel filter leaves small samples, and says so.
	small := reportJSON(t, db, KPIOptions{From: from, To: from, Filter: Filter{Channels: []string{"voice"}}})
	ov := small["overall"].(map[string]any)
	if n := ov["nps_n"].(float64); n >= SmallSample || !contains(ov["small_samples"], "nps") {
		t.Errorf("one day of voice: nps_n = %v, small_samples = %v", n, ov["small_samples"])
	}

	opts.Format = "md"
	md := render(t, db, opts)
	for _, s := range []string{"**Generated at:** 2026-12-05 09:30:00 UTC", "## Bot vs human", "## By team",
		"## Against the previous period and the targets", "**Compared with:** 2026-09-01 to 2026-09-30 (UTC)"} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
	voiceRow := tableRow(t, md, "voice")
	if !strings.Contains(voiceRow, fmtPercent(want.breach)+markMiss) {
		t.Errorf("voice row does not flag its SLA breach %s as a miss: %s", fmtPercent(want.breach), voiceRow)
	}

	opts.Format = "csv"
	recs, err := csv.NewReader(strings.NewReader(render(t, db, opts))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	found := false
	for _, r := range recs[1:] {
		if r[0] == "channel" && r[1] == "voice" {
			found = true
			if got, _ := strconv.ParseFloat(r[col["sla_breach_rate"]], 64); got != want.breach {
				t.Errorf("csv voice sla_breach_rate = %v, want %v", got, want.breach)
			}
		}
		if r[0] == "overall" && r[col["conversations"]] != strconv.Itoa(int(doc["overall"].(map[string]any)["conversations"].(float64))) {
			t.Errorf("csv overall conversations %s, json %v", r[col["conversations"]], doc["overall"].(map[string]any)["conversations"])
		}
	}
	if !found {
		t.Error("csv has no voice channel row")
	}

	opts.Format = "html"
	page := render(t, db, opts)
	checkPage(t, page)
	for _, s := range []string{"Generated at 2026-12-05 09:30:00 UTC", "Bot vs human", "By team", `class="num miss"`} {
		if !strings.Contains(page, s) {
			t.Errorf("html lacks %q", s)
		}
	}
}

func contains(list any, s string) bool {
	l, _ := list.([]any)
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

// tableRow returns the Markdown table line whose first cell is first.
func tableRow(t *testing.T, md, first string) string {
	t.Helper()
	for _, line := range strings.Split(md, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) > 2 && strings.TrimSpace(cells[1]) == first {
			return line
		}
	}
	t.Fatalf("no table row %q in:\n%s", first, md)
	return ""
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
	db := fixture(t).DB
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	md := render(t, db, KPIOptions{From: day("2030-01-01"), To: day("2030-01-31")})
	if !strings.Contains(md, "No data in kpi_counts_daily for this period.") || !strings.Contains(md, "2030-01-01 to 2030-01-31") {
		t.Errorf("empty markdown:\n%s", md)
	}
	page := render(t, db, KPIOptions{Format: "html", From: day("2030-01-01")})
	checkPage(t, page)
	if !strings.Contains(page, "No data in kpi_counts_daily for this period.") || strings.Contains(page, "<svg") {
		t.Errorf("empty html:\n%s", page)
	}
	doc := reportJSON(t, db, KPIOptions{From: day("2030-01-01"), To: day("2030-01-02")})
	if ov := doc["overall"].(map[string]any); ov["conversations"] != 0.0 || ov["frt_p90_s"] != nil || ov["escalation_rate"] != nil {
		t.Errorf("empty json overall: %v", ov)
	}
	if c := render(t, db, KPIOptions{Format: "csv", From: day("2030-01-01")}); strings.Count(c, "\n") != 1 {
		t.Errorf("empty csv is not the header alone:\n%s", c)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = KPI(ctx, db, io.Discard, KPIOptions{})
	var missing *MissingMartError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "cxlake refresh --data DIR") {
		t.Errorf("no kpi_counts_daily: err = %v, want a *MissingMartError naming the refresh command", err)
	}
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
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
	for name, tg := range map[string]Target{
		"conversations":   {Target: 1, Better: "higher"},
		"no_such_kpi":     {Target: 1, Better: "higher"},
		"escalation_rate": {Target: 0.2, Better: "less"},
	} {
		err = KPI(ctx, db, io.Discard, KPIOptions{Targets: map[string]Target{name: tg}})
		var te *TargetError
		if !errors.As(err, &te) || te.KPI != name {
			t.Errorf("target %s %+v: err = %v, want a *TargetError naming it", name, tg, err)
		}
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
	for _, c := range []struct {
		name string
		d    float64
		want string
	}{{"escalation_rate", 0.021, "+2.1 pp"}, {"escalation_rate", -0.5, "-50.0 pp"}, {"nps", -3.25, "-3.2 pt"}, {"frt_p90_s", -90, "-1.5 min"}, {"conversations", 1200, "+1,200"}} {
		if got := fmtChange(c.name, sql.NullFloat64{Float64: c.d, Valid: true}); got != c.want {
			t.Errorf("fmtChange(%s, %v) = %q, want %q", c.name, c.d, got, c.want)
		}
	}
}
