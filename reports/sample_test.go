package reports

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// sampleInsert is four weeks of plausible kpi_daily rows: chat channels
// answered in seconds, email in hours, voice on weekdays only, sms on some
// days, the app channel only in the last week, and null rates where a channel
// has no bot or no surveys.
func sampleInsert() string {
	type ch struct {
		name    string
		volume  float64
		frt     float64 // seconds
		bot     bool
		surveys bool
	}
	chans := []ch{
		{"whatsapp", 420, 25, true, true}, {"webchat", 260, 12, true, true},
		{"instagram", 120, 90, true, true}, {"email", 150, 3 * 3600, false, true},
		{"messenger", 70, 60, true, false}, {"telegram", 40, 45, true, false},
		{"voice", 90, 40, false, true}, {"sms", 25, 600, false, false}, {"app", 60, 20, true, true},
	}
	r := rand.New(rand.NewPCG(7, 11))
	null := func(ok bool, v float64) string {
		if !ok {
			return "null"
		}
		return fmt.Sprintf("%.4f", v)
	}
	var rows []string
	for d := 0; d < 28; d++ {
		wd := time.Date(2026, 11, d+1, 0, 0, 0, 0, time.UTC).Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		for _, c := range chans {
			switch {
			case c.name == "voice" && weekend, c.name == "sms" && r.IntN(3) == 0, c.name == "app" && d < 21:
				continue
			}
			vol := c.volume * (0.8 + 0.4*r.Float64())
			if weekend {
				vol *= 0.6
			}
			n := int(vol)
			frt := c.frt * (0.7 + 0.6*r.Float64())
			csatN, npsN := 0, 0
			if c.surveys {
				csatN, npsN = n/8, n/15
			}
			rows = append(rows, fmt.Sprintf("('2026-11-%02d', '%s', %d, %.1f, %.1f, %.1f, %.1f, %s, %s, %.0f, %.4f, %s, %s, %s, %s, %d, %s, %d, %.4f)",
				d+1, c.name, n, frt, frt*6, frt*4+120, frt*12+600,
				null(c.bot, 0.25+0.1*r.Float64()), null(c.bot, 0.55+0.2*r.Float64()),
				frt*20+1800, 0.04+0.04*r.Float64(),
				null(d < 21, 0.6+0.2*r.Float64()), null(true, 0.05+0.08*r.Float64()), null(c.bot, 0.5+0.4*r.Float64()),
				null(csatN > 0, 0.7+0.2*r.Float64()), csatN, null(npsN > 0, math.Round(10+40*r.Float64())), npsN,
				0.02+0.1*r.Float64()))
		}
	}
	return "insert into kpi_daily values\n" + strings.Join(rows, ",\n")
}

// TestRenderSample writes the sample report to the file named by
// CXLAKE_KPI_HTML (for looking at it in a browser) and checks it like any
// other page.
func TestRenderSample(t *testing.T) {
	db := openDB(t, kpiDDL, sampleInsert())
	for _, format := range []string{"html", "md"} {
		var b bytes.Buffer
		if err := KPI(context.Background(), db, &b, KPIOptions{Format: format, Title: "Customer service KPIs, November 2026"}); err != nil {
			t.Fatal(err)
		}
		if format == "html" {
			checkPage(t, b.String())
		}
		if path := os.Getenv("CXLAKE_KPI_" + strings.ToUpper(format)); path != "" {
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
