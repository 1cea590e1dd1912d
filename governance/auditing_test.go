package governance_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
)

func ExampleStripLiterals() {
	fmt.Println(governance.StripLiterals(`select * from contact_identities where identifier_value = 'ana@example.com' and "offset" > 42 limit 10`))
	// Output: select * from contact_identities where identifier_value = ? and "offset" > ? limit ?
}

func TestQueryRecordsCarryNoLiterals(t *testing.T) {
	l, err := audit.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	r := governance.QueryRecord("ana@corp.example", "compliance",
		`select * from events where event_id = 'x' or kafka_offset = 5511987654321 or x = 'it''s +5511987654321'`, 3, time.Millisecond, nil)
	if _, err := l.Append(context.Background(), r); err != nil {
		t.Fatalf("a gateway query record was refused: %v (%+v)", err, r)
	}
	if strings.Contains(fmt.Sprint(r), "5511987654321") || strings.Contains(r.Actor, "@") {
		t.Fatalf("record keeps a literal or an e-mail: %+v", r)
	}
}

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
