package dashboards

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PanelQuery is one panel target's SQL as Grafana sends it to the SQL
// gateway: variables and macros expanded.
type PanelQuery struct {
	Dashboard, Panel, RefID string
	SQL                     string
}

// Expansion is what Grafana substitutes into a panel's SQL: the time range,
// $__interval (raised to a panel's minimum interval) and the template
// variables' selected values ("All" resolved to every option). tz, when
// left out, is DefaultTimeZone, the dashboard's default.
type Expansion struct {
	From, To time.Time
	Interval time.Duration
	Vars     map[string][]string
}

// PanelQueries returns every panel target of the shipped dashboards,
// expanded with e, in dashboard file then panel order. cxlake bench gateway
// measures these; a test checks that Expand matches Grafana's own
// expansion (grafana-plugin-sdk-go's sqlutil with the PostgreSQL macros).
func PanelQueries(e Expansion) ([]PanelQuery, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	type panel struct {
		Title    string  `json:"title"`
		Interval string  `json:"interval"`
		Panels   []panel `json:"panels"`
		Targets  []struct {
			RefID  string `json:"refId"`
			RawSQL string `json:"rawSql"`
		} `json:"targets"`
	}
	var out []PanelQuery
	for _, d := range all {
		var dj struct {
			Panels []panel `json:"panels"`
		}
		if err := json.Unmarshal(d.JSON, &dj); err != nil {
			return nil, fmt.Errorf("decoding dashboard %s: %w", d.File, err)
		}
		var flat []panel
		for _, p := range dj.Panels {
			flat = append(flat, p)
			flat = append(flat, p.Panels...)
		}
		for _, p := range flat {
			pe := e
			if p.Interval != "" {
				min, err := parseInterval(p.Interval)
				if err != nil {
					return nil, fmt.Errorf("dashboard %s panel %q: %w", d.UID, p.Title, err)
				}
				pe.Interval = max(pe.Interval, min)
			}
			for _, t := range p.Targets {
				if strings.TrimSpace(t.RawSQL) == "" {
					continue
				}
				sql, err := pe.Expand(t.RawSQL)
				if err != nil {
					return nil, fmt.Errorf("dashboard %s panel %q: %w", d.UID, p.Title, err)
				}
				out = append(out, PanelQuery{Dashboard: d.UID, Panel: p.Title, RefID: t.RefID, SQL: sql})
			}
		}
	}
	return out, nil
}

var (
	panelVariableRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::[^}]*)?\}`)
	macroRef         = regexp.MustCompile(`\$__(\w+)\(([^()]*)\)`)
)

// Expand substitutes variables, then $__interval_ms and $__interval, then
// the PostgreSQL data source's macros ($__timeFilter, $__timeGroupAlias,
// $__timeGroup, $__timeFrom, $__timeTo, $__time, $__timeEpoch), as Grafana
// does. A macro it does not know is an error, never passed through.
func (e Expansion) Expand(sql string) (string, error) {
	sql = panelVariableRef.ReplaceAllStringFunc(sql, func(ref string) string {
		m := panelVariableRef.FindStringSubmatch(ref)
		values, ok := e.Vars[m[1]+m[2]]
		if !ok && m[1]+m[2] == "tz" {
			values, ok = []string{DefaultTimeZone}, true
		}
		if !ok {
			return ref
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return strings.Join(quoted, ",")
	})
	sql = strings.ReplaceAll(sql, "$__interval_ms", strconv.FormatInt(e.Interval.Milliseconds(), 10))
	sql = strings.ReplaceAll(sql, "$__interval", formatInterval(e.Interval))
	ts := func(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'" }
	var failed error
	sql = macroRef.ReplaceAllStringFunc(sql, func(ref string) string {
		m := macroRef.FindStringSubmatch(ref)
		var args []string
		for _, a := range strings.Split(m[2], ",") {
			args = append(args, strings.TrimSpace(a))
		}
		group := func() string {
			if len(args) < 2 {
				failed = fmt.Errorf("macro $__%s needs a time column and an interval", m[1])
				return ref
			}
			d, err := parseInterval(strings.Trim(args[1], `'`))
			if err != nil {
				failed = err
				return ref
			}
			return fmt.Sprintf("floor(extract(epoch from %s)/%v)*%v", args[0], d.Seconds(), d.Seconds())
		}
		switch m[1] {
		case "timeFilter":
			return fmt.Sprintf("%s BETWEEN %s AND %s", args[0], ts(e.From), ts(e.To))
		case "timeFrom":
			return ts(e.From)
		case "timeTo":
			return ts(e.To)
		case "time":
			return args[0] + ` AS "time"`
		case "timeEpoch":
			return fmt.Sprintf(`extract(epoch from %s) as "time"`, args[0])
		case "timeGroup":
			return group()
		case "timeGroupAlias":
			return group() + ` AS "time"`
		}
		failed = fmt.Errorf("unknown macro $__%s", m[1])
		return ref
	})
	if failed != nil {
		return "", failed
	}
	if strings.Contains(sql, "$__") {
		return "", fmt.Errorf("a macro was left unexpanded")
	}
	return sql, nil
}

// formatInterval writes d as Grafana does ("1d", "5m", "100ms").
func formatInterval(d time.Duration) string {
	day := 24 * time.Hour
	year := 365 * day
	switch {
	case d >= year:
		return fmt.Sprintf("%dy", d/year)
	case d >= day:
		return fmt.Sprintf("%dd", d/day)
	case d >= time.Hour:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d >= time.Second:
		return fmt.Sprintf("%ds", d/time.Second)
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return "1ms"
}

// parseInterval reads "<n><unit>" with unit ms, s, m, h, d, w or y.
func parseInterval(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		d      time.Duration
	}{{"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour},
		{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}, {"y", 365 * 24 * time.Hour}}
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v <= 0 {
				continue
			}
			return time.Duration(v) * u.d, nil
		}
	}
	return 0, fmt.Errorf("interval %q: write a whole number and a unit (ms, s, m, h, d, w, y), e.g. 1d", s)
}
