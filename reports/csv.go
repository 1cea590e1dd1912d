package reports

import (
	"encoding/csv"
	"io"
	"strconv"
)

// writeKPICSV writes the report as one table: a record per group, the
// section first (overall, channel, handled_by, team, previous_overall,
// previous_channel, day, day_channel), then its key (the channel, team or
// handled_by value; empty for overall and day), the day (day and
// day_channel rows), every kpi_daily column and each figure's sample size
// (<name>_n). Values are plain: seconds, fractions from 0 to 1, NPS from
// -100 to 100, days as YYYY-MM-DD. A null is an empty field, so that
// spreadsheets do not read it as zero. An empty period is the header alone.
func writeKPICSV(w io.Writer, r *kpiReport) error {
	cw := csv.NewWriter(w)
	header := []string{"section", "key", "day"}
	for _, c := range kpiColumns {
		header = append(header, c.name)
	}
	for _, c := range kpiColumns {
		if f, _ := kpiFigure(c.name); f.Sample != "" {
			header = append(header, c.name+"_n")
		}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	write := func(section, key, day string, f *figures) error {
		rec := []string{section, key, day}
		for _, c := range kpiColumns {
			if c.count != nil {
				rec = append(rec, strconv.FormatInt(*c.count(f), 10))
				continue
			}
			if v := c.value(f); v.Valid {
				rec = append(rec, strconv.FormatFloat(v.Float64, 'f', -1, 64))
			} else {
				rec = append(rec, "")
			}
		}
		for _, c := range kpiColumns {
			if fig, _ := kpiFigure(c.name); fig.Sample != "" {
				rec = append(rec, strconv.FormatInt(f.N[c.name], 10))
			}
		}
		return cw.Write(rec)
	}
	if r.Empty() {
		cw.Flush()
		return cw.Error()
	}
	if err := write("overall", "", "", &r.Overall); err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		gs   []kpiGroup
	}{{"channel", r.Channels}, {"handled_by", r.Handlers}, {"team", r.Teams}} {
		for i := range s.gs {
			g := &s.gs[i]
			if err := write(s.name, g.Channel+g.Key, "", &g.figures); err != nil {
				return err
			}
		}
	}
	if !r.PrevStart.IsZero() {
		if err := write("previous_overall", "", "", &r.PrevOverall); err != nil {
			return err
		}
		for i := range r.Channels {
			p := r.PrevChannels[r.Channels[i].Channel]
			if err := write("previous_channel", r.Channels[i].Channel, "", &p); err != nil {
				return err
			}
		}
	}
	for i := range r.Days {
		if err := write("day", "", isoDay(r.Days[i].Day), &r.Days[i].figures); err != nil {
			return err
		}
	}
	for i := range r.Rows {
		if err := write("day_channel", r.Rows[i].Channel, isoDay(r.Rows[i].Day), &r.Rows[i].figures); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
