package dashboards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestAllDashboards(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, d := range all {
		uids = append(uids, d.UID)
		m, err := d.Model()
		if err != nil {
			t.Fatal(err)
		}
		// File provisioning and the API both want no numeric id in the file.
		if id, ok := m["id"]; ok && id != nil {
			t.Errorf("%s: id is %v; leave it null, Grafana assigns it", d.File, id)
		}
		if len(d.UID) > 40 {
			t.Errorf("%s: uid %q is longer than Grafana's 40 characters", d.File, d.UID)
		}
		if m["timezone"] != "utc" {
			t.Errorf("%s: timezone %v; the marts' days are UTC days", d.File, m["timezone"])
		}
	}
	want := []string{"cxlake-compliance", "cxlake-leadership", "cxlake-pipeline"}
	sort.Strings(uids)
	if !slices.Equal(uids, want) {
		t.Fatalf("dashboards %v, want %v", uids, want)
	}
}

// TestPanelLayout: panel ids are unique within a dashboard, every panel
// lies inside the 24-column grid, and no two panels overlap.
func TestPanelLayout(t *testing.T) {
	for uid, d := range loadDashboards(t) {
		ids := map[int]string{}
		panels := allPanels(d)
		for _, p := range panels {
			if p.ID <= 0 {
				t.Errorf("%s: panel %q has id %d", uid, p.Title, p.ID)
			}
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("%s: panels %q and %q share id %d", uid, prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
				t.Errorf("%s: panel %q at %+v is outside the 24-column grid", uid, p.Title, g)
			}
			if p.Type == "row" && (g.W != 24 || g.H != 1 || g.X != 0) {
				t.Errorf("%s: row %q at %+v; rows span the grid, one unit high", uid, p.Title, g)
			}
		}
		for i, a := range d.Panels {
			for _, b := range d.Panels[i+1:] {
				ga, gb := a.GridPos, b.GridPos
				if ga.X < gb.X+gb.W && gb.X < ga.X+ga.W && ga.Y < gb.Y+gb.H && gb.Y < ga.Y+ga.H {
					t.Errorf("%s: panels %q %+v and %q %+v overlap", uid, a.Title, ga, b.Title, gb)
				}
			}
		}
	}
}

// TestDataSourceReferencesResolve: every panel, target and variable names
// the data source the provisioning file and Provision create.
func TestDataSourceReferencesResolve(t *testing.T) {
	ds := provisionedDataSource(t)
	if ds.UID != DataSourceUID || ds.Type != DataSourceType {
		t.Fatalf("provisioning file's data source is %s/%s, want %s/%s", ds.Type, ds.UID, DataSourceType, DataSourceUID)
	}
	check := func(where string, ref *datasourceRef) {
		if ref == nil {
			t.Errorf("%s has no data source reference", where)
			return
		}
		if ref.UID != ds.UID || ref.Type != ds.Type {
			t.Errorf("%s refers to data source %s/%s, which is not provisioned (%s/%s is)", where, ref.Type, ref.UID, ds.Type, ds.UID)
		}
	}
	for uid, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			if p.Type == "row" {
				continue
			}
			check(uid+" panel "+p.Title, p.Datasource)
			for _, tg := range p.Targets {
				check(uid+" panel "+p.Title+" target "+tg.RefID, tg.Datasource)
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "custom" { // its options are in the dashboard: no query
				continue
			}
			check(uid+" variable "+v.Name, v.Datasource)
		}
	}
}

// TestTargetsAreSQL: every non-row panel has raw SQL targets in a format
// Grafana's SQL data sources know, and time series select a time column.
func TestTargetsAreSQL(t *testing.T) {
	timeCol := regexp.MustCompile(`\$__timeGroupAlias\(|\$__time\(|\$__timeEpoch\(|(?i)\bas "?time"?\b`)
	for uid, d := range loadDashboards(t) {
		for _, p := range allPanels(d) {
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", uid, p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				where := uid + " panel " + p.Title + " " + tg.RefID
				if refs[tg.RefID] || tg.RefID == "" {
					t.Errorf("%s: refId empty or repeated", where)
				}
				refs[tg.RefID] = true
				if !tg.RawQuery || tg.EditorMode != "code" || strings.TrimSpace(tg.RawSQL) == "" {
					t.Errorf("%s: want rawQuery true, editorMode code and rawSql", where)
				}
				switch tg.Format {
				case "time_series":
					if !timeCol.MatchString(tg.RawSQL) {
						t.Errorf("%s: a time series query must select a time column", where)
					}
				case "table":
				default:
					t.Errorf("%s: format %q; want time_series or table", where, tg.Format)
				}
			}
		}
	}
}

// TestMacroArgumentsHaveNoParentheses: Grafana's PostgreSQL macro engine
// reads a macro's arguments up to the first ")", so an argument holding a
// parenthesis would be cut (see grafana_expand_test.go).
func TestMacroArgumentsHaveNoParentheses(t *testing.T) {
	call := regexp.MustCompile(`\$__(\w+)\(([^)]*)\)`)
	for _, p := range panelTargets(t) {
		for _, m := range call.FindAllStringSubmatchIndex(p.RawSQL, -1) {
			args := p.RawSQL[m[4]:m[5]]
			if strings.Contains(args, "(") {
				t.Errorf("%s: macro $__%s has a parenthesis in its arguments %q", p, p.RawSQL[m[2]:m[3]], args)
			}
		}
	}
}

// TestLeadershipFollowsTimeAndVariables: the leadership dashboard's time
// range, channel, team and time zone drive every panel of data. channel
// and team are multi-value with All, whose custom all value is the
// subquery of every value in the mart: "All" never expands to the list of
// options, which is "in ()", a syntax error, when a new warehouse has
// none. tz is a single-value custom variable whose options are TimeZones,
// UTC by default, and every panel of data reads the zoned base, naming tz
// only as a quoted literal joined with the allow-list (zonedBase). The
// SLA table (configuration, no time) follows channel alone.
// zonedMarts are the quarter-hour marts a leadership panel may read zoned:
// the KPI base, and the FRT distribution and message volumes (issue 31).
var zonedMarts = []string{"kpi_counts_quarter_hourly", "frt_distribution_quarter_hourly", "message_volumes_quarter_hourly"}

func TestLeadershipFollowsTimeAndVariables(t *testing.T) {
	d := loadDashboards(t)["cxlake-leadership"]
	names := map[string]bool{}
	for _, v := range d.Templating.List {
		names[v.Name] = true
		if v.Name == "tz" {
			if v.Type != "custom" || v.Multi || v.IncludeAll || v.Query != strings.Join(TimeZones, ",") ||
				v.Current.Value != DefaultTimeZone || len(v.Options) != len(TimeZones) {
				t.Errorf("variable tz: want a single-value custom variable of TimeZones, current %s", DefaultTimeZone)
			}
			for i, o := range v.Options {
				if i < len(TimeZones) && (o.Value != TimeZones[i] || o.Selected != (o.Value == DefaultTimeZone)) {
					t.Errorf("variable tz option %d = %+v, want %s", i, o, TimeZones[i])
				}
			}
			continue
		}
		if !v.Multi || !v.IncludeAll || v.AllValue == nil || *v.AllValue != "select "+v.Name+" from kpi_counts_daily" || v.Type != "query" || v.Query == "" {
			t.Errorf("variable %s: want a multi-value query variable with All whose all value is select %s from kpi_counts_daily", v.Name, v.Name)
		}
	}
	if !names["channel"] || !names["team"] || !names["tz"] || len(names) != 3 {
		t.Fatalf("variables %v, want channel, team and tz", names)
	}
	zoned := 0
	for _, p := range panelTargets(t) {
		if p.Dashboard != "cxlake-leadership" {
			continue
		}
		if slices.Equal(relationsOf(p.RawSQL), []string{"channel_slas"}) {
			if !strings.Contains(p.RawSQL, "channel in ($channel)") {
				t.Errorf("%s does not filter with channel in ($channel)", p)
			}
			continue
		}
		if slices.Equal(relationsOf(p.RawSQL), []string{"cost_model"}) {
			continue // the cost model's configuration: no day, channel or team
		}
		base := "from " + zonedBase() + "\n"
		for _, m := range zonedMarts {
			if strings.Contains(p.RawSQL, "from "+zonedMart(m)+"\n") {
				base = "from " + zonedMart(m) + "\n"
			}
		}
		for _, want := range []string{base, "$__timeFilter(day::timestamptz)", "channel in ($channel)", "team in ($team)"} {
			if !strings.Contains(p.RawSQL, want) {
				t.Errorf("%s does not read or filter with %s", p, want)
			}
		}
		if strings.Count(p.RawSQL, "$tz")+strings.Count(p.RawSQL, "${tz}")+strings.Count(p.RawSQL, "${tz:") != strings.Count(p.RawSQL, "${tz:sqlstring}") ||
			strings.Contains(p.RawSQL, "kpi_counts_daily") {
			t.Errorf("%s names tz other than as ${tz:sqlstring}, or reads UTC days", p)
		}
		zoned++
	}
	if zoned < 15 {
		t.Errorf("only %d leadership targets read the zoned base", zoned)
	}
}

// relationRef finds the relations a query reads: names after FROM or JOIN
// (not "extract(epoch from ...)", not subqueries).
var relationRef = regexp.MustCompile(`(?i)(\w+)?\s+\b(?:from|join)\s+([a-z_][a-z0-9_]*)`)

func relationsOf(sql string) []string {
	var out []string
	for _, m := range relationRef.FindAllStringSubmatch(sql, -1) {
		if strings.EqualFold(m[1], "epoch") {
			continue
		}
		out = append(out, strings.ToLower(m[2]))
	}
	return out
}

// TestPanelsReadOnlyListedMarts: the dashboards' SQL (panels and
// variables) names exactly the relations in Relations, and each is a mart.
func TestPanelsReadOnlyListedMarts(t *testing.T) {
	marts := map[string]bool{}
	files, err := filepath.Glob("../models/marts/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("listing the marts: %v", err)
	}
	for _, f := range files {
		marts[strings.TrimSuffix(filepath.Base(f), ".sql")] = true
	}
	used := map[string]bool{}
	note := func(where, sql string) {
		for _, r := range relationsOf(sql) {
			used[r] = true
			if !slices.Contains(Relations, r) {
				t.Errorf("%s reads %s, which is not in dashboards.Relations (the grafana role may not read it)", where, r)
			}
		}
	}
	for _, p := range panelTargets(t) {
		note(p.String(), p.RawSQL)
	}
	for uid, d := range loadDashboards(t) {
		for _, v := range d.Templating.List {
			note(uid+" variable "+v.Name, v.Query)
		}
	}
	for _, r := range Relations {
		if !marts[r] {
			t.Errorf("dashboards.Relations lists %s, which is not a mart (models/marts)", r)
		}
		if !used[r] {
			t.Errorf("dashboards.Relations lists %s, which no panel reads", r)
		}
	}
	if !slices.IsSorted(Relations) {
		t.Errorf("dashboards.Relations is not sorted")
	}
}

// TestMartsHoldNoPersonalData: docs/models.md documents every column of
// the relations the dashboards read, none marked as personal data and none
// of a kind that identifies a person or quotes a query.
func TestMartsHoldNoPersonalData(t *testing.T) {
	raw, err := os.ReadFile("../docs/models.md")
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string][][]string{}
	var cur string
	row := regexp.MustCompile("^\\| `([a-z_0-9]+)` \\| ([^|]+) \\| ([^|]+) \\|")
	for _, line := range strings.Split(string(raw), "\n") {
		if name, ok := strings.CutPrefix(line, "### "); ok {
			cur = strings.TrimSpace(name)
			continue
		}
		if m := row.FindStringSubmatch(line); m != nil {
			cols[cur] = append(cols[cur], []string{m[1], strings.TrimSpace(m[3])})
		}
	}
	forbidden := regexp.MustCompile(`contact_key|identifier|_hash$|^subject|(^|_)(text|statement|comment|summary)(_|$)|phone|email|name$|conversation_id|event_id`)
	for _, r := range Relations {
		if len(cols[r]) == 0 {
			t.Errorf("docs/models.md does not document %s", r)
		}
		for _, c := range cols[r] {
			if c[1] != "no" {
				t.Errorf("%s.%s is marked PII %q in docs/models.md", r, c[0], c[1])
			}
			if forbidden.MatchString(c[0]) && c[0] != "user_name" {
				t.Errorf("%s.%s looks like personal data or query text", r, c[0])
			}
		}
	}
}

type provisionedDS struct {
	Name           string         `yaml:"name"`
	Type           string         `yaml:"type"`
	UID            string         `yaml:"uid"`
	URL            string         `yaml:"url"`
	User           string         `yaml:"user"`
	Access         string         `yaml:"access"`
	JSONData       map[string]any `yaml:"jsonData"`
	SecureJSONData map[string]any `yaml:"secureJsonData"`
}

func provisionedDataSource(t *testing.T) provisionedDS {
	t.Helper()
	raw, err := os.ReadFile("provisioning/datasources/cxlake.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		APIVersion  int             `yaml:"apiVersion"`
		Datasources []provisionedDS `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if f.APIVersion != 1 || len(f.Datasources) != 1 {
		t.Fatalf("provisioning/datasources/cxlake.yaml: apiVersion %d, %d data sources; want 1 and 1", f.APIVersion, len(f.Datasources))
	}
	return f.Datasources[0]
}

// TestProvisioningFiles: the data source file matches what Provision
// creates (database inside jsonData, where Grafana 12 reads it), and the
// dashboard provider points at the folder the JSON files are mounted in.
func TestProvisioningFiles(t *testing.T) {
	ds := provisionedDataSource(t)
	want := DataSourceSettings{Gateway: "cxlake:5433", User: "grafana"}.dataSource()
	if ds.Name != want.Name || ds.Access != want.Access || ds.URL != want.URL || ds.User != want.User {
		t.Errorf("data source file has name %q access %q url %q user %q; Provision makes %q %q %q %q",
			ds.Name, ds.Access, ds.URL, ds.User, want.Name, want.Access, want.URL, want.User)
	}
	for k, v := range want.JSONData {
		if got, _ := json.Marshal(ds.JSONData[k]); string(got) != mustJSON(t, v) {
			t.Errorf("data source file: jsonData.%s = %s, Provision sets %s", k, got, mustJSON(t, v))
		}
	}
	if ds.JSONData["database"] != "cxlake" {
		t.Errorf("jsonData.database = %v, want cxlake", ds.JSONData["database"])
	}
	if pw, _ := ds.SecureJSONData["password"].(string); !strings.HasPrefix(pw, "$") {
		t.Errorf("the password must come from the environment, not the file: %q", pw)
	}

	raw, err := os.ReadFile("provisioning/dashboards/cxlake.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name      string `yaml:"name"`
			Type      string `yaml:"type"`
			FolderUID string `yaml:"folderUid"`
			Folder    string `yaml:"folder"`
			Options   struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if f.APIVersion != 1 || len(f.Providers) != 1 {
		t.Fatalf("dashboard provider file: apiVersion %d, %d providers", f.APIVersion, len(f.Providers))
	}
	p := f.Providers[0]
	if p.Type != "file" || p.Folder != FolderTitle || p.FolderUID != FolderUID || p.Options.Path != ProvisionedDashboardsPath {
		t.Errorf("dashboard provider %+v; want type file, folder %s (uid %s), path %s", p, FolderTitle, FolderUID, ProvisionedDashboardsPath)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
