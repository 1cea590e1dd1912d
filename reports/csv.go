package reports

import (
	"encoding/csv"
	"io"
	"strconv"
)

// writeKPICSV writes one record per kpi_daily row (day × channel) with every
// contract column, under a header of the column names. Values are plain:
// seconds, fractions from 0 to 1, NPS from -100 to 100, days as YYYY-MM-DD.
// A null is an empty field, so that spreadsheets do not read it as zero. An
// empty period is the header alone.
func writeKPICSV(w io.Writer, r *kpiReport) error {
	cw := csv.NewWriter(w)
	header := []string{"day", "channel"}
	for _, c := range kpiColumns {
		header = append(header, c.name)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, len(header))
	for i := range r.Rows {
		row := &r.Rows[i]
		rec = rec[:0]
		rec = append(rec, isoDay(row.Day), row.Channel)
		for _, c := range kpiColumns {
			if c.count != nil {
				rec = append(rec, strconv.FormatInt(*c.count(&row.figures), 10))
				continue
			}
			v := c.value(&row.figures)
			if !v.Valid {
				rec = append(rec, "")
				continue
			}
			rec = append(rec, strconv.FormatFloat(v.Float64, 'f', -1, 64))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
