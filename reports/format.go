package reports

import (
	"database/sql"
	"math"
	"strconv"
	"strings"
)

// dash stands for a null figure: no eligible conversation, which is not zero.
const dash = "—"

// channelLabel names a channel for people; the mart's null channel (surveys
// answered outside any conversation) gets a visible name.
func channelLabel(ch string) string {
	if ch == "" {
		return "(no channel)"
	}
	return ch
}

// durationUnits are the units fmtSeconds steps through, with the size of the
// next unit in this one.
var durationUnits = []struct {
	name string
	secs float64
	next float64
}{
	{"s", 1, 60},
	{"min", 60, 60},
	{"h", 3600, 24},
	{"d", 86400, math.Inf(1)},
}

// fmtSeconds writes a duration for people: "4.2 s", "42 s", "3.5 min",
// "12 min", "3.5 h", "2 d". One decimal below 10 of a unit, none above.
func fmtSeconds(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return dash
	}
	sign := ""
	if s < 0 {
		sign, s = "-", -s
	}
	for _, u := range durationUnits {
		v := s / u.secs
		txt := strconv.FormatFloat(v, 'f', 0, 64)
		if v < 9.95 {
			txt = trimZero(strconv.FormatFloat(v, 'f', 1, 64))
		}
		if n, _ := strconv.ParseFloat(txt, 64); n < u.next {
			return sign + txt + " " + u.name
		}
	}
	return dash // unreachable: the last unit has no next
}

func fmtDuration(v sql.NullFloat64) string {
	if !v.Valid {
		return dash
	}
	return fmtSeconds(v.Float64)
}

// fmtPercent writes a fraction as a percentage with one decimal: "12.3%".
func fmtPercent(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 1, 64) + "%"
}

func fmtRate(v sql.NullFloat64) string {
	if !v.Valid {
		return dash
	}
	return fmtPercent(v.Float64)
}

// fmtNPSValue writes an NPS as a signed whole number: "+42", "-7", "0".
func fmtNPSValue(n float64) string {
	r := math.Round(n)
	if r == 0 {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', 0, 64)
}

func fmtNPS(v sql.NullFloat64) string {
	if !v.Valid {
		return dash
	}
	s := fmtNPSValue(v.Float64)
	if v.Float64 >= 0.5 {
		s = "+" + s
	}
	return s
}

// fmtCount writes a whole number with thousands separators: "12,345".
func fmtCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func trimZero(s string) string {
	if strings.HasSuffix(s, ".0") {
		return s[:len(s)-2]
	}
	return s
}
