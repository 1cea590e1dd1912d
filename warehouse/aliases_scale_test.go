package warehouse

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// TestAliasFixtureAtScale builds, when CXLAKE_ALIAS_FIXTURE names a new
// directory and CXLAKE_ALIAS_IDENTIFIERS a count, a data directory as a
// cxlake at warehouse schema version 3 left it: that many people, each
// with one event naming a Brazilian mobile in its 8-digit form, and no
// identifier_aliases. `cxlake migrate --data` on it runs the alias step
// alone, which is how docs/governance.md measures it. Skipped otherwise.
func TestAliasFixtureAtScale(t *testing.T) {
	dir, n := os.Getenv("CXLAKE_ALIAS_FIXTURE"), os.Getenv("CXLAKE_ALIAS_IDENTIFIERS")
	if dir == "" || n == "" {
		t.Skip("set CXLAKE_ALIAS_FIXTURE and CXLAKE_ALIAS_IDENTIFIERS to build the alias step's fixture")
	}
	total, err := strconv.Atoi(n)
	if err != nil || total < 1 || total > 10_000_000 {
		t.Fatalf("CXLAKE_ALIAS_IDENTIFIERS must be a count up to 10 million")
	}
	ctx := context.Background()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	const per = 10_000
	for first := 0; first < total; first += per {
		b := &Batch{StartedAt: time.Now()}
		for i := first; i < min(first+per, total); i++ {
			// Area 31, mobile 8xxx-xxxx in the 8-digit form: each gets an alias.
			phone := fmt.Sprintf("+55318%07d", i)
			b.Records = append(b.Records, Record{Event: event.Event{EventID: fmt.Sprintf("scale-%d", i), Type: event.TypeMessage,
				OccurredAt: at, Source: "test", Channel: "whatsapp", ConversationID: fmt.Sprintf("scale-conv-%d", i),
				Contact: event.Identity{Phone: phone}, Actor: event.Actor{Kind: "customer"},
				Message: &event.Message{Direction: "inbound", Text: "ola"}}, Topic: "scale", Offset: int64(i)})
		}
		b.Spans = []Span{{Topic: "scale", FirstOffset: int64(first), LastOffset: int64(first + len(b.Records) - 1), Messages: len(b.Records)}}
		if _, err := w.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, w, `select count(*) from identifiers`); got != total {
		t.Fatalf("%d identifiers stored, want %d", got, total)
	}
	// Back to version 3: no alias table, the step never run.
	for _, q := range []string{`drop table identifier_aliases`, `delete from warehouse_meta where name = '` + metaAliasesDone + `'`,
		`delete from schema_migrations where component = 'warehouse' and version = 4`} {
		if _, err := w.DB.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
