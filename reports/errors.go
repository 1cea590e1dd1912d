package reports

import (
	"fmt"
	"time"
)

// MissingMartError is returned when a report's mart does not exist in the
// warehouse, typically because the models have never been built there.
type MissingMartError struct {
	Table string // the mart the report reads, such as "kpi_counts_daily"
}

func (e *MissingMartError) Error() string {
	return fmt.Sprintf("table %s not found in the warehouse: run `cxlake refresh --data DIR` first to build the models", e.Table)
}

// RangeError is returned when a report's From day is after its To day.
type RangeError struct {
	From, To time.Time
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("report range is backwards: from %s is after to %s (both are inclusive UTC days)",
		isoDay(e.From), isoDay(e.To))
}

// ZoneError is returned for a time zone that is not an IANA name the
// report can use.
type ZoneError struct {
	Field string // the flag or parameter, such as "--tz"
}

func (e *ZoneError) Error() string {
	return fmt.Sprintf("%s is not a known time zone: give an IANA name such as America/Sao_Paulo, or UTC", e.Field)
}

// FormatError is returned for a report format the package does not write.
type FormatError struct {
	Format string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("unknown report format %q: use md, html, csv or json", e.Format)
}

// TargetError is returned for a KPI target that names no KPI figure, or
// whose better side is neither "higher" nor "lower".
type TargetError struct {
	KPI  string // the target's key
	Rule string // what is wrong
}

func (e *TargetError) Error() string {
	return fmt.Sprintf("report target %q: %s", e.KPI, e.Rule)
}
