package reports

import (
	"strings"
	"testing"
)

// Every format says which clock each channel's SLA runs on: the fixture's
// email SLA (24 h) runs on business hours, voice's (1 min) and the other
// channels' on elapsed time (models' defaults). A channel filter keeps
// only its channels' SLAs.
func TestReportSaysEachSLAsClock(t *testing.T) {
	db := fixture(t).DB
	from, to := fixtureStart, fixtureStart.AddDate(0, 0, 29)

	doc := reportJSON(t, db, KPIOptions{From: from, To: to, Format: "json"})
	slas, ok := doc["slas"].(map[string]any)
	if !ok || len(slas) != 9 {
		t.Fatalf("json slas = %v, want the 9 channels with a default SLA", doc["slas"])
	}
	for ch, want := range map[string]struct {
		s     float64
		clock string
	}{"email": {86400, "business"}, "voice": {60, "clock"}, "whatsapp": {300, "clock"}} {
		got, _ := slas[ch].(map[string]any)
		if got["sla_s"] != want.s || got["clock"] != want.clock {
			t.Errorf("json slas[%s] = %v, want sla_s %v on %s", ch, got, want.s, want.clock)
		}
	}

	md := render(t, db, KPIOptions{From: from, To: to, Format: "md"})
	_, section, ok := strings.Cut(md, "## SLAs and their clocks\n")
	section, _, _ = strings.Cut(section, "\n## ")
	if !ok {
		t.Fatal("markdown report has no section on the SLAs' clocks")
	}
	lines := map[string]string{}
	for _, line := range strings.Split(section, "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "|" {
			lines[f[1]] = line
		}
	}
	if len(lines) != 11 { // the head, the rule and the 9 channels
		t.Errorf("SLA table has %d lines, want the head, the rule and 9 channels:\n%s", len(lines), section)
	}
	for ch, want := range map[string]string{"email": "business hours", "voice": "elapsed time", "whatsapp": "elapsed time"} {
		if !strings.Contains(lines[ch], want) {
			t.Errorf("markdown SLA row of %s = %q, want %q", ch, lines[ch], want)
		}
	}
	html := render(t, db, KPIOptions{From: from, To: to, Format: "html"})
	if !strings.Contains(html, "SLAs and their clocks") || !strings.Contains(html, "business hours") {
		t.Error("html report does not say which clock each SLA runs on")
	}

	voice := reportJSON(t, db, KPIOptions{From: from, To: to, Format: "json", Filter: Filter{Channels: []string{"voice"}}})
	if s, _ := voice["slas"].(map[string]any); len(s) != 1 || s["voice"] == nil {
		t.Errorf("voice only: slas = %v, want voice's alone", voice["slas"])
	}
}
