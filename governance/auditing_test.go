package governance_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
)

func TestDeadlines(t *testing.T) {
	at := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		law, kind string
		want      time.Time
		which     string
	}{
		{governance.LawGDPR, governance.KindErasure, time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC), "gdpr"},
		{governance.LawLGPD, governance.KindAccess, time.Date(2026, 2, 15, 10, 0, 0, 0, time.UTC), "lgpd"},
		{governance.LawBoth, governance.KindAccess, time.Date(2026, 2, 15, 10, 0, 0, 0, time.UTC), "lgpd"},
	} {
		got, which := governance.Deadline(c.law, c.kind, at)
		if !got.Equal(c.want) || which != c.which {
			t.Errorf("%s %s: %s (%s), want %s (%s)", c.law, c.kind, got, which, c.want, c.which)
		}
	}
}

// TestReceiptTextCountsInTheSingular: "1 row", not "1 rows" (issue 29
// item 4).
func TestReceiptTextCountsInTheSingular(t *testing.T) {
	rc := governance.Receipt{RequestID: "era-0000000000000001", Status: governance.StatusCompleted, Law: governance.LawGDPR,
		RowsRemoved: map[string]int64{"events": 1, "identifiers": 2}, Suppressed: 1}
	text := rc.Text()
	for _, want := range []string{"events                         1 row\n", "identifiers                    2 rows\n", "1 keyed hash (", "(GDPR)"} {
		if !strings.Contains(text, want) {
			t.Errorf("the receipt lacks %q:\n%s", want, text)
		}
	}
}
