package dashboards

import "strings"

// The leadership dashboard's time zone: a custom variable, tz, whose
// options are TimeZones (default DefaultTimeZone). Its daily panels read
// the quarter-hour KPI base, kpi_counts_quarter_hourly, and group its rows
// by the local date of each quarter hour in the chosen zone: every zone's
// offset is a whole number of quarter hours, so each local day is exact.
// A date in a panel names the zone's local day; the dashboard itself stays
// in UTC, so the time picker's days are those dates by name.
//
// Grafana inserts a single-value variable into SQL raw unless the SQL asks
// for a format, and anyone may put any value in the URL (var-tz=...). So
// the panels name the variable only as ${tz:sqlstring} (a quoted literal,
// ' doubled), and join it with the allow-list written into the SQL: a
// value that is not one of TimeZones selects no row, and shows no data,
// never another zone's figures or SQL of the value's making.

// DefaultTimeZone is the tz variable's default: days are UTC unless the
// dashboard is asked for a zone (DESIGN.md).
const DefaultTimeZone = "UTC"

// TimeZones are the zones the dashboards offer, IANA names; the first is
// DefaultTimeZone. A zone added here must be added to the tz variable's
// options and to every zoned panel's allow-list (a test compares them).
var TimeZones = []string{
	"UTC",
	"America/Sao_Paulo",
	"America/Argentina/Buenos_Aires",
	"America/Bogota",
	"America/Mexico_City",
	"America/New_York",
	"America/Chicago",
	"America/Los_Angeles",
	"Europe/Lisbon",
	"Europe/London",
	"Europe/Madrid",
	"Europe/Berlin",
	"Africa/Johannesburg",
	"Asia/Kolkata",
	"Asia/Singapore",
	"Asia/Tokyo",
	"Australia/Sydney",
}

// zonedBase is the relation the zoned panels read in place of
// kpi_counts_daily: the quarter-hour base with day the local date of each
// bucket in the tz variable's zone, if the zone is one of TimeZones.
func zonedBase() string { return zonedMart("kpi_counts_quarter_hourly") }

// zonedMart is a quarter-hour mart (bucket_at, day) with day the local date of
// each bucket in the tz variable's zone, as zonedBase.
func zonedMart(mart string) string {
	vals := make([]string, len(TimeZones))
	for i, z := range TimeZones {
		vals[i] = "('" + z + "')"
	}
	return "(\n    select quarter.* exclude (day), (quarter.bucket_at at time zone zone.name)::date as day\n" +
		"    from " + mart + " as quarter\n" +
		"    join (values " + strings.Join(vals, ", ") + ") as zone(name)\n" +
		"      on zone.name = ${tz:sqlstring}\n  ) as kpi"
}
