package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/gtime"
	"github.com/grafana/grafana-plugin-sdk-go/data/sqlutil"
)

// This file expands a panel's SQL the way Grafana does before the query
// reaches the gateway, in Grafana's order:
//
//  1. Template variables, in the browser. The PostgreSQL data source's
//     interpolateVariable quotes each value of a multi-value or include-All
//     variable as a literal ('...' with ' doubled) and joins them with ','.
//     "All" without a custom all value is the list of every option; with
//     one (allValue), it is that text, raw: Grafana's template service
//     does not format a custom all value (public/app/features/templating/
//     template_srv.ts, formatValue).
//     (public/app/plugins/datasource/grafana-postgresql-datasource/datasource.ts;
//     https://grafana.com/docs/grafana/latest/datasources/postgres/template-variables/)
//  2. The global substitutions of the SQL data sources' backend:
//     $__interval_ms and $__interval, formatted with gtime.FormatInterval
//     (pkg/tsdb/grafana-postgresql-datasource/sqleng/sql_engine.go, Interpolate).
//  3. The PostgreSQL macros, as documented in
//     https://grafana.com/docs/grafana/latest/datasources/postgres/query-editor/#macros
//     and implemented in pkg/tsdb/grafana-postgresql-datasource/macros.go:
//     $__time, $__timeEpoch, $__timeFilter (BETWEEN, RFC 3339 in UTC),
//     $__timeFrom(), $__timeTo(), $__timeGroup(column, interval) =
//     floor(extract(epoch from column)/s)*s and $__timeGroupAlias (the same
//     AS "time"). They run through the plugin SDK's sqlutil.Interpolate, with
//     these PostgreSQL definitions in place of the SDK's generic ones.
//
// Grafana's PostgreSQL macro engine finds macros with the regular
// expression \$(\w+)\(([^\)]*)\): an argument cannot hold a parenthesis.
// The SDK parser used here accepts nested ones, so the structure test checks
// that no panel relies on that (TestMacroArgumentsHaveNoParentheses).

// grafanaQuery is one panel target as Grafana runs it.
type grafanaQuery struct {
	From, To time.Time
	// Interval is $__interval: the panel's interval after Grafana applied
	// its minimum interval and rounding.
	Interval time.Duration
	// Vars holds each template variable's selected values: the values, or
	// []string{allSelected} for "All". tz left out is its default,
	// DefaultTimeZone, as the dashboard saves it.
	Vars map[string][]string
	// AllValue holds the variables' custom all values (allValue in the
	// dashboard); "All" of a variable without one is an error here: give
	// the list of options instead.
	AllValue map[string]string
}

// allSelected is the value Grafana stores for "All".
const allSelected = "$__all"

// expand returns sql as the gateway receives it.
func (q grafanaQuery) expand(sql string) (string, error) {
	for name, vals := range q.Vars {
		if len(vals) == 1 && vals[0] == allSelected && q.AllValue[name] == "" {
			return "", fmt.Errorf("variable %s: All without a custom all value; give its options", name)
		}
	}
	vars := map[string][]string{"tz": {DefaultTimeZone}}
	for name, vals := range q.Vars {
		vars[name] = vals
	}
	sql = interpolateVariables(sql, vars, q.AllValue)
	// sqleng's global substitutions, before the data source's macros.
	sql = strings.ReplaceAll(sql, "$__interval_ms", strconv.FormatInt(q.Interval.Milliseconds(), 10))
	sql = strings.ReplaceAll(sql, "$__interval", gtime.FormatInterval(q.Interval))
	out, err := sqlutil.Interpolate(&sqlutil.Query{
		RawSQL:    sql,
		Interval:  q.Interval,
		TimeRange: backend.TimeRange{From: q.From, To: q.To},
	}, postgresMacros)
	if err != nil {
		return "", fmt.Errorf("expanding macros: %w", err)
	}
	if strings.Contains(out, "$__") {
		return "", fmt.Errorf("a macro was left unexpanded in %q", out)
	}
	return out, nil
}

// variableRef matches the variable syntaxes Grafana's template service
// replaces: $name, ${name} and ${name:format}.
var variableRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::[^}]*)?\}`)

// interpolateVariables replaces the references to the variables in vars,
// leaving macros ($__...) and unknown names alone, as Grafana does.
func interpolateVariables(sql string, vars map[string][]string, allValue map[string]string) string {
	return variableRef.ReplaceAllStringFunc(sql, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		values, ok := vars[name]
		if !ok {
			return ref
		}
		if len(values) == 1 && values[0] == allSelected {
			return allValue[name]
		}
		quoted := make([]string, len(values))
		for i, v := range values {
			quoted[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		return strings.Join(quoted, ",")
	})
}

// postgresMacros are the PostgreSQL data source's macros, overriding the
// SDK's generic defaults of the same names.
var postgresMacros = sqlutil.Macros{
	"time": func(_ *sqlutil.Query, args []string) (string, error) {
		if len(args) == 0 || args[0] == "" {
			return "", fmt.Errorf("missing time column argument for macro $__time")
		}
		return args[0] + ` AS "time"`, nil
	},
	"timeEpoch": func(_ *sqlutil.Query, args []string) (string, error) {
		if len(args) == 0 || args[0] == "" {
			return "", fmt.Errorf("missing time column argument for macro $__timeEpoch")
		}
		return fmt.Sprintf(`extract(epoch from %s) as "time"`, args[0]), nil
	},
	"timeFilter": func(q *sqlutil.Query, args []string) (string, error) {
		if len(args) == 0 || args[0] == "" {
			return "", fmt.Errorf("missing time column argument for macro $__timeFilter")
		}
		return fmt.Sprintf("%s BETWEEN '%s' AND '%s'", args[0],
			q.TimeRange.From.UTC().Format(time.RFC3339Nano), q.TimeRange.To.UTC().Format(time.RFC3339Nano)), nil
	},
	"timeFrom": func(q *sqlutil.Query, _ []string) (string, error) {
		return "'" + q.TimeRange.From.UTC().Format(time.RFC3339Nano) + "'", nil
	},
	"timeTo": func(q *sqlutil.Query, _ []string) (string, error) {
		return "'" + q.TimeRange.To.UTC().Format(time.RFC3339Nano) + "'", nil
	},
	"timeGroup":      timeGroup,
	"timeGroupAlias": func(q *sqlutil.Query, args []string) (string, error) { return aliased(timeGroup(q, args)) },
}

func timeGroup(_ *sqlutil.Query, args []string) (string, error) {
	if len(args) < 2 {
		return "", fmt.Errorf("macro $__timeGroup needs a time column and an interval")
	}
	interval, err := gtime.ParseInterval(strings.Trim(args[1], `'`))
	if err != nil {
		return "", fmt.Errorf("error parsing interval %v", args[1])
	}
	return fmt.Sprintf("floor(extract(epoch from %s)/%v)*%v", args[0], interval.Seconds(), interval.Seconds()), nil
}

func aliased(s string, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return s + ` AS "time"`, nil
}
