package reports

import (
	"cmp"
	"database/sql"
	"slices"
)

// How summarize recomputes figures over several kpi_daily rows (several days,
// several channels, or both). The reports print the same explanation.
//
//   - conversations and survey responses are summed;
//   - CSAT and NPS are weighted by their responses, which is exact:
//     sum(csat × csat_responses) / sum(csat_responses);
//   - rates are the mean of the row rates weighted by each row's
//     conversations. kpi_daily does not carry each rate's own denominator
//     (bot-handled, resolved, ... conversations), so this is an approximation
//     whenever that share differs between rows;
//   - durations (FRT, agent FRT, resolution) are the median of the row
//     percentiles weighted by conversations: a robust stand-in for the true
//     percentile, which needs the per-conversation mart.
//
// Rows where a value is null are left out of that value; when every row is
// null, the result is null, never zero.
func summarize(rows []kpiRow) figures {
	var f figures
	for _, r := range rows {
		f.Conversations += r.Conversations
		f.CSATResponses += r.CSATResponses
		f.NPSResponses += r.NPSResponses
	}
	conv := func(r *kpiRow) float64 { return float64(r.Conversations) }
	pick := func(get func(*figures) sql.NullFloat64, weight func(*kpiRow) float64) ([]float64, []float64) {
		var vs, ws []float64
		for i := range rows {
			if v := get(&rows[i].figures); v.Valid {
				vs = append(vs, v.Float64)
				ws = append(ws, weight(&rows[i]))
			}
		}
		return vs, ws
	}
	median := func(get func(*figures) sql.NullFloat64) sql.NullFloat64 {
		return weightedMedian(pick(get, conv))
	}
	mean := func(get func(*figures) sql.NullFloat64) sql.NullFloat64 {
		return weightedMean(pick(get, conv))
	}

	f.FRTP50 = median(func(f *figures) sql.NullFloat64 { return f.FRTP50 })
	f.FRTP90 = median(func(f *figures) sql.NullFloat64 { return f.FRTP90 })
	f.AgentFRTP50 = median(func(f *figures) sql.NullFloat64 { return f.AgentFRTP50 })
	f.AgentFRTP90 = median(func(f *figures) sql.NullFloat64 { return f.AgentFRTP90 })
	f.ResolutionP50 = median(func(f *figures) sql.NullFloat64 { return f.ResolutionP50 })

	f.EscalationRate = mean(func(f *figures) sql.NullFloat64 { return f.EscalationRate })
	f.ContainmentRate = mean(func(f *figures) sql.NullFloat64 { return f.ContainmentRate })
	f.ReopenRate = mean(func(f *figures) sql.NullFloat64 { return f.ReopenRate })
	f.FCRRate = mean(func(f *figures) sql.NullFloat64 { return f.FCRRate })
	f.RecontactRate = mean(func(f *figures) sql.NullFloat64 { return f.RecontactRate })
	f.HandoffContextRate = mean(func(f *figures) sql.NullFloat64 { return f.HandoffContextRate })
	f.SLABreachRate = mean(func(f *figures) sql.NullFloat64 { return f.SLABreachRate })

	f.CSAT = weightedMean(pick(func(f *figures) sql.NullFloat64 { return f.CSAT },
		func(r *kpiRow) float64 { return float64(r.CSATResponses) }))
	f.NPS = weightedMean(pick(func(f *figures) sql.NullFloat64 { return f.NPS },
		func(r *kpiRow) float64 { return float64(r.NPSResponses) }))
	return f
}

// weightedMean is sum(v×w)/sum(w). With no values it is null; when values
// exist but every weight is zero (an inconsistent mart), it is their plain mean
// rather than a made-up zero.
func weightedMean(vs, ws []float64) sql.NullFloat64 {
	if len(vs) == 0 {
		return sql.NullFloat64{}
	}
	var sum, total float64
	for i, v := range vs {
		if ws[i] > 0 {
			sum += v * ws[i]
			total += ws[i]
		}
	}
	if total == 0 {
		for _, v := range vs {
			sum += v
		}
		return sql.NullFloat64{Float64: sum / float64(len(vs)), Valid: true}
	}
	return sql.NullFloat64{Float64: sum / total, Valid: true}
}

// weightedMedian is the value at which the cumulative weight of the sorted
// values reaches half the total; when it lands exactly on half, the midpoint of
// that value and the next. Zero weights count as absent unless all are zero,
// in which case every value weighs the same.
func weightedMedian(vs, ws []float64) sql.NullFloat64 {
	type vw struct{ v, w float64 }
	var xs []vw
	var total float64
	for i, v := range vs {
		if ws[i] > 0 {
			xs = append(xs, vw{v, ws[i]})
			total += ws[i]
		}
	}
	if total == 0 {
		xs = xs[:0]
		for _, v := range vs {
			xs = append(xs, vw{v, 1})
		}
		total = float64(len(vs))
	}
	if len(xs) == 0 {
		return sql.NullFloat64{}
	}
	slices.SortFunc(xs, func(a, b vw) int { return cmp.Compare(a.v, b.v) })
	half := total / 2
	var cum float64
	for i, x := range xs {
		cum += x.w
		if cum == half && i+1 < len(xs) {
			return sql.NullFloat64{Float64: (x.v + xs[i+1].v) / 2, Valid: true}
		}
		if cum >= half {
			return sql.NullFloat64{Float64: x.v, Valid: true}
		}
	}
	return sql.NullFloat64{Float64: xs[len(xs)-1].v, Valid: true}
}

// channelsBySize lists the channels in rows, most conversations first, ties
// by name.
func channelsBySize(rows []kpiRow) []string {
	size := map[string]int64{}
	for _, r := range rows {
		size[r.Channel] += r.Conversations
	}
	chs := make([]string, 0, len(size))
	for ch := range size {
		chs = append(chs, ch)
	}
	slices.SortFunc(chs, func(a, b string) int {
		if c := cmp.Compare(size[b], size[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return chs
}
