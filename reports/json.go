package reports

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
)

// The JSON form of the KPI report: one object, documented in
// docs/reports.md. A group (overall, a channel, a team, a handler, a day)
// is an object whose keys are the kpi_daily column names, each figure with
// a sample followed by "<name>_n", then "small_samples" (the figures over
// fewer than SmallSample) and "target_misses" (the figures that miss their
// target). A null figure has no eligible conversation; it is not zero.

// object is a JSON object that keeps its keys in order.
type object []member

type member struct {
	key string
	val any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func nullable(v sql.NullFloat64) any {
	if !v.Valid {
		return nil
	}
	return v.Float64
}

func dayOrNull(r *kpiReport, start bool) any {
	t := r.End
	if start {
		t = r.Start
	}
	if t.IsZero() {
		return nil
	}
	return isoDay(t)
}

// jsonGroup is one group's figures; with targets, misses are listed.
func (r *kpiReport) jsonGroup(f *figures, withTargets bool) object {
	var o object
	smalls, misses := []string{}, []string{}
	for _, c := range kpiColumns {
		if c.count != nil {
			o = append(o, member{c.name, *c.count(f)})
			continue
		}
		v := *c.value(f)
		o = append(o, member{c.name, nullable(v)})
		if n, ok := f.N[c.name]; ok {
			o = append(o, member{c.name + "_n", n})
			if n < SmallSample {
				smalls = append(smalls, c.name)
			}
		}
		if withTargets && r.misses(c.name, v) {
			misses = append(misses, c.name)
		}
	}
	o = append(o, member{"small_samples", smalls})
	if withTargets {
		o = append(o, member{"target_misses", misses})
	}
	return o
}

// jsonChange is cur − prev per figure that is not a count.
func jsonChange(cur, prev *figures) object {
	var o object
	for _, c := range kpiColumns {
		cv, pv := valueOf(cur, c.name), valueOf(prev, c.name)
		o = append(o, member{c.name, nullable(change(cv, pv))})
	}
	return o
}

func writeKPIJSON(w io.Writer, r *kpiReport) error {
	groups := func(gs []kpiGroup, name func(*kpiGroup) string, targets bool) object {
		o := object{}
		for i := range gs {
			o = append(o, member{name(&gs[i]), r.jsonGroup(&gs[i].figures, targets)})
		}
		return o
	}
	channel := func(g *kpiGroup) string { return g.Channel }
	key := func(g *kpiGroup) string { return g.Key }
	targets := object{}
	for _, c := range kpiColumns {
		if t, ok := r.Targets[c.name]; ok {
			targets = append(targets, member{c.name, t})
		}
	}
	filter := object{{"channels", nonNil(r.Filter.Channels)}, {"teams", nonNil(r.Filter.Teams)}}
	days := 0
	if !r.Start.IsZero() && !r.End.IsZero() {
		days = int(r.End.Sub(r.Start).Hours()/24) + 1
	}
	doc := object{
		{"title", r.Title},
		{"generated_at", r.GeneratedAt.Format("2006-01-02T15:04:05Z")},
		{"period", object{{"from", dayOrNull(r, true)}, {"to", dayOrNull(r, false)}, {"days", days}, {"time_zone", r.ZoneLabel()}}},
		{"filter", filter},
		{"small_sample_threshold", SmallSample},
		{"targets", targets},
		{"overall", r.jsonGroup(&r.Overall, true)},
		{"channels", groups(r.Channels, channel, true)},
		{"handled_by", groups(r.Handlers, key, false)},
		{"teams", groups(r.Teams, key, false)},
	}
	slas := object{}
	for _, s := range r.SLAs {
		slas = append(slas, member{s.Channel, object{{"sla_s", s.Seconds}, {"clock", s.Clock}}})
	}
	doc = append(doc, member{"slas", slas})
	var costLabel any // null: no cost model, and every cost figure is null
	if r.CostLabel != "" {
		costLabel = r.CostLabel
	}
	doc = append(doc, member{"cost_label", costLabel})
	if r.PrevStart.IsZero() {
		doc = append(doc, member{"previous_period", nil})
	} else {
		prevCh, changeCh := object{}, object{}
		for i := range r.Channels {
			ch := r.Channels[i].Channel
			p := r.PrevChannels[ch]
			if p.N == nil {
				p.N = map[string]int64{}
			}
			prevCh = append(prevCh, member{ch, r.jsonGroup(&p, false)})
			changeCh = append(changeCh, member{ch, jsonChange(&r.Channels[i].figures, &p)})
		}
		doc = append(doc, member{"previous_period", object{
			{"from", isoDay(r.PrevStart)}, {"to", isoDay(r.PrevEnd)},
			{"overall", r.jsonGroup(&r.PrevOverall, false)},
			{"channels", prevCh},
		}}, member{"change", object{
			{"overall", jsonChange(&r.Overall, &r.PrevOverall)},
			{"channels", changeCh},
		}})
	}
	var dayList []object
	for i := range r.Days {
		g := r.jsonGroup(&r.Days[i].figures, false)
		dayList = append(dayList, append(object{{"day", isoDay(r.Days[i].Day)}}, g...))
	}
	if dayList == nil {
		dayList = []object{}
	}
	doc = append(doc, member{"days", dayList})
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
