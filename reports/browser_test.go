package reports

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/internal/headless"
	"github.com/cxlake/cxlake/models"
)

// unitOf is how a person reads a figure of each kind, by its unit: a
// count with thousands separators, a duration in s, min, h or d, a rate in
// percent with one decimal, an NPS as a signed whole number of points.
// The dash is a figure with no eligible conversation.
var unitOf = map[models.KPIKind]*regexp.Regexp{
	models.KPICount:    regexp.MustCompile(`^\d{1,3}(,\d{3})*$`),
	models.KPIDuration: regexp.MustCompile(`^(\d+(\.\d)? (s|min|h|d)|—)$`),
	models.KPIRate:     regexp.MustCompile(`^(\d{1,3}\.\d%|—)$`),
	models.KPIScore:    regexp.MustCompile(`^([+-]?\d{1,3}|—)$`),
	models.KPIValue:    regexp.MustCompile(`^(\d+\.\d\d|—)$`), // a mean completeness, a cost in the cost model's unit
}

// TestKPIReportInHeadlessChromium renders a week of the KPI report, with
// a previous period and two targets missed, in headless Chromium at 900
// px, and reads it as a person does: no script error or policy
// violation, nothing reaching past the viewport (a wide table scrolls in
// its own box), and every KPI shown with its unit, in the headline tiles
// and in the comparison with the previous period. Skipped when chromium
// is absent, but not in CI (CI=true).
func TestKPIReportInHeadlessChromium(t *testing.T) {
	wh := fixture(t)
	page := render(t, wh.DB, KPIOptions{Format: "html", From: fixtureStart.AddDate(0, 0, 7), To: fixtureStart.AddDate(0, 0, 13),
		Now:     time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC),
		Targets: map[string]Target{"csat_share": {Target: 0.99, Better: "higher"}, "frt_p90_s": {Target: 1, Better: "lower"}}})
	got := headless.Render(t, []byte(page), 900)
	if got.Width < 800 || got.Width > 900 || got.PageWidth > got.Width || len(got.Wide) > 0 || len(got.Errors) > 0 || got.Title != "Customer service KPIs" {
		t.Errorf("at %d px (page %d px): reaching past the viewport %v, errors %v, title %q", got.Width, got.PageWidth, got.Wide, got.Errors, got.Title)
	}
	lines := strings.Split(got.Text, "\n")
	kind := map[string]models.KPIKind{}
	for _, f := range models.KPIFigures {
		kind[f.Name] = f.Kind
	}

	// The headline: each tile's label, then its value on the next line,
	// then its sample, change and target.
	for _, h := range headlineKPIs {
		i := indexOf(lines, h.label)
		if i < 0 || i+2 >= len(lines) {
			t.Errorf("headline %s (%q) is not shown", h.name, h.label)
			continue
		}
		if v := lines[i+1]; !unitOf[kind[h.name]].MatchString(v) {
			t.Errorf("headline %s shows %q, not a figure with its unit", h.label, v)
		}
		sub := lines[i+2]
		if !strings.Contains(sub, "vs previous") {
			t.Errorf("headline %s: no change against the previous period: %q", h.label, sub)
		}
		if kind[h.name] != models.KPICount && !strings.HasPrefix(sub, "n = ") {
			t.Errorf("headline %s: no sample size: %q", h.label, sub)
		}
	}
	for _, miss := range []string{"misses target ≤ 1 s", "misses target ≥ 99.0%"} {
		if !strings.Contains(got.Text, miss) {
			t.Errorf("the page does not say %q", miss)
		}
	}

	// The comparison: a row per KPI, "name, this period, previous period,
	// change, target, n", separated by tabs; figures may carry ✗ or *.
	rows := 0
	for _, l := range lines {
		cells := strings.Split(l, "\t")
		k, ok := kind[cells[0]]
		if !ok || len(cells) < 4 {
			continue
		}
		rows++
		for _, c := range cells[1:3] {
			if v := strings.TrimSuffix(strings.TrimSuffix(c, markSmall), markMiss); !unitOf[k].MatchString(v) {
				t.Errorf("comparison %s shows %q, not a figure with its unit", cells[0], c)
			}
		}
		if k == models.KPIValue {
			if cells[3] != dash && !regexp.MustCompile(`^[+-]\d+\.\d\d$`).MatchString(cells[3]) {
				t.Errorf("comparison %s: change %q is not a signed number", cells[0], cells[3])
			}
		} else if k != models.KPICount && cells[3] != dash && !regexp.MustCompile(` (s|min|h|d|pp|pt)$`).MatchString(cells[3]) {
			t.Errorf("comparison %s: change %q has no unit", cells[0], cells[3])
		}
	}
	want := 0
	for _, f := range models.KPIFigures {
		if f.Kind != models.KPICount || f.Name == "conversations" {
			want++
		}
	}
	if rows < want {
		t.Errorf("the page shows %d KPI rows of the comparison, want %d:\n%s", rows, want, got.Text)
	}
}

func indexOf(lines []string, s string) int {
	for i, l := range lines {
		if l == s {
			return i
		}
	}
	return -1
}
