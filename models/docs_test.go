package models

import (
	"context"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestDocsCoverEveryColumn keeps docs/models.md, the single source of truth
// for the models' columns, in step with the models: every column of every
// persistent model is documented, and nothing documented is missing.
func TestDocsCoverEveryColumn(t *testing.T) {
	raw, err := os.ReadFile("../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]map[string]bool{}
	var cur string
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\|")
	for _, line := range strings.Split(string(raw), "\n") {
		if name, ok := strings.CutPrefix(line, "### "); ok {
			cur = strings.TrimSpace(name)
			documented[cur] = map[string]bool{}
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil && cur != "" {
			documented[cur][m[1]] = true
		}
	}
	// Sections that say "every column of X, plus".
	inherits := map[string]string{"int_events_attributed": "stg_cx__events", "int_events_conversed": "stg_cx__events", "kpi_daily_team": "kpi_daily",
		"int_kpi_counts_aggregated": "kpi_counts_daily", "kpi_counts_quarter_hourly": "kpi_counts_daily",
		"int_kpi_counts_quarter_hourly": "kpi_counts_daily"}

	w := openWarehouse(t)
	var offset int64
	for _, b := range goldenBatches() {
		writeJSON(t, w, &offset, b...)
	}
	if _, err := Rebuild(context.Background(), w.DB, goldenConfig()); err != nil {
		t.Fatal(err)
	}
	p, err := theProject()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.models {
		if m.mat == matEphemeral || m.mat == matTemp {
			continue
		}
		docs, ok := documented[m.name]
		if !ok {
			t.Errorf("docs/models.md has no section for model %s", m.name)
			continue
		}
		want := map[string]bool{}
		for c := range docs {
			want[c] = true
		}
		if parent := inherits[m.name]; parent != "" {
			for c := range documented[parent] {
				want[c] = true
			}
		}
		got := map[string]bool{}
		for _, c := range column(t, w.DB, "select column_name from duckdb_columns() where table_name = ? and schema_name = 'main'", m.name) {
			got[c] = true
			if !want[c] {
				t.Errorf("%s.%s is not documented in docs/models.md", m.name, c)
			}
		}
		var missing []string
		for c := range want {
			if !got[c] {
				missing = append(missing, c)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("docs/models.md documents %s columns that do not exist: %v", m.name, missing)
		}
	}
}
