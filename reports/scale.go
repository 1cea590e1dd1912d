package reports

import (
	"math"
	"slices"
	"strconv"
)

// yScale maps values to the vertical axis of a chart, linear or logarithmic,
// with the ticks to draw and how to label them.
type yScale struct {
	lo, hi float64
	log    bool
	ticks  []float64
	label  func(float64) string
}

// frac is v's position between lo (0) and hi (1). On a log scale values at or
// below lo, including zero, sit on lo.
func (s yScale) frac(v float64) float64 {
	if s.log {
		v = max(v, s.lo)
		return (math.Log(v) - math.Log(s.lo)) / (math.Log(s.hi) - math.Log(s.lo))
	}
	if s.hi == s.lo {
		return 0
	}
	return (v - s.lo) / (s.hi - s.lo)
}

// countScale runs from zero to a round number at or above top.
func countScale(top float64) yScale {
	if top <= 0 {
		top = 1
	}
	step := max(1, niceStep(top/5))
	hi := math.Ceil(top/step) * step
	s := yScale{lo: 0, hi: hi, label: func(v float64) string { return fmtCount(int64(math.Round(v))) }}
	for v := 0.0; v <= hi+step/2; v += step {
		s.ticks = append(s.ticks, v)
	}
	return s
}

// niceStep is the 1, 2 or 5 × 10ⁿ at or above x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	switch f := x / p; {
	case f <= 1:
		return p
	case f <= 2:
		return 2 * p
	case f <= 5:
		return 5 * p
	}
	return 10 * p
}

// niceSeconds are the durations duration axes put their ticks on.
var niceSeconds = []float64{0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800,
	3600, 7200, 10800, 21600, 43200, 86400, 172800, 345600, 604800, 1209600, 2592000, 7776000}

// logSeconds are the ticks of a logarithmic duration axis: landmarks a
// reader knows (10 s, 1 min, 10 min, 1 h, 6 h, 1 d, 1 week), roughly evenly
// spaced.
var logSeconds = []float64{0.1, 1, 10, 60, 600, 3600, 21600, 86400, 604800, 2592000}

// durationScale fits durations from lowest to highest (both ≥ 0). When the
// positive values span more than a factor of 20 (chat answered in seconds,
// email in hours) the axis is logarithmic, so that every channel stays
// readable; otherwise it is linear from zero.
func durationScale(lowest, highest float64) yScale {
	s := yScale{label: fmtSeconds}
	if highest <= 0 {
		highest = 60
	}
	if lowest > 0 && highest/lowest > 20 {
		s.log = true
		s.lo, s.hi = logSeconds[0], highest
		for _, c := range logSeconds {
			if c <= lowest {
				s.lo = c
			}
		}
		if i := slices.IndexFunc(logSeconds, func(c float64) bool { return c >= highest }); i >= 0 {
			s.hi = logSeconds[i]
		}
		for _, c := range logSeconds {
			if c >= s.lo && c <= s.hi {
				s.ticks = append(s.ticks, c)
			}
		}
		return s
	}
	step := niceSeconds[len(niceSeconds)-1]
	for _, c := range niceSeconds {
		if math.Ceil(highest/c) <= 5 {
			step = c
			break
		}
	}
	s.hi = math.Ceil(highest/step) * step
	for v := 0.0; v <= s.hi+step/2; v += step {
		s.ticks = append(s.ticks, v)
	}
	return s
}

// percentScale runs from 0% to 100%.
func percentScale() yScale {
	return yScale{lo: 0, hi: 1, ticks: []float64{0, 0.25, 0.5, 0.75, 1},
		label: func(v float64) string { return strconv.FormatFloat(v*100, 'f', 0, 64) + "%" }}
}

// npsScale runs from -100 to +100.
func npsScale() yScale {
	return yScale{lo: -100, hi: 100, ticks: []float64{-100, -50, 0, 50, 100},
		label: func(v float64) string {
			if v > 0 {
				return "+" + fmtNPSValue(v)
			}
			return fmtNPSValue(v)
		}}
}
