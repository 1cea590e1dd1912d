// Package storetest is the conformance test of governance.Store: the
// events table and the Parquet lake must erase and expire alike. Run
// TestStore against every implementation.
package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/governance"
)

// Fixture is a store holding exactly the events given to the constructor.
type Fixture struct {
	Store governance.Store
	// Hash returns the identifier hash the store's events carry for an
	// identifier (kind "phone", "email", "id:<channel>").
	Hash func(kind, value string) string
}

// Base is the time of the events TestStore makes: they fall on the days
// before Base, one day apart.
var Base = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// Events returns the events of the test: Ana (phone, email, webchat id,
// and an identity_link joining a second email), Bruno (phone only) and
// Clara (email only), on 6 days before Base, two channels.
func Events() []event.Event {
	var out []event.Event
	n := 0
	add := func(c event.Identity, link *event.Identity, day int, channel string) {
		n++
		e := event.Event{EventID: fmt.Sprintf("ev-%03d", n), Type: event.TypeMessage,
			OccurredAt: Base.AddDate(0, 0, -day).Add(time.Duration(n) * time.Minute), Source: "storetest",
			Channel: channel, ConversationID: fmt.Sprintf("conv-%d-%s", day, channel), Contact: c,
			Actor: event.Actor{Kind: "customer"}, Message: &event.Message{Direction: "inbound", Text: "texto " + fmt.Sprint(n)},
			Raw: []byte(`{}`)}
		if link != nil {
			e.Type, e.Message, e.Link, e.ConversationID = event.TypeIdentityLink, nil, link, ""
		}
		out = append(out, e)
	}
	ana := event.Identity{Phone: "+5511911110000", Email: "ana@example.org"}
	anaChat := event.Identity{IDs: map[string]string{"webchat": "ana-visitor"}}
	for day := 1; day <= 6; day++ {
		add(ana, nil, day, "whatsapp")
		add(anaChat, nil, day, "webchat")
		add(event.Identity{Phone: "+5511922220000"}, nil, day, "whatsapp")
		add(event.Identity{Email: "clara@example.org"}, nil, day, "email")
	}
	add(anaChat, &event.Identity{Email: "ana@example.org"}, 2, "webchat")
	add(event.Identity{Email: "ana.work@example.org"}, nil, 3, "email")
	add(anaChat, &event.Identity{Email: "ana.work@example.org"}, 3, "webchat")
	return out
}

// anaHashes are the hashes of all of Ana's identifiers (what erasure
// passes after resolving her).
func anaHashes(f Fixture) []string {
	return []string{f.Hash("phone", "+5511911110000"), f.Hash("email", "ana@example.org"),
		f.Hash("id:webchat", "ana-visitor"), f.Hash("email", "ana.work@example.org")}
}

// TestStore runs the conformance test; newStore builds a store holding
// events (a fresh one each call).
func TestStore(t *testing.T, newStore func(t *testing.T, events []event.Event) Fixture) {
	ctx := context.Background()
	count := func(t *testing.T, s governance.Store, hashes []string, before time.Time) int64 {
		t.Helper()
		n, err := s.Count(ctx, hashes, before)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	t.Run("EraseRemovesEveryRowOfThePersonAndNothingElse", func(t *testing.T) {
		f := newStore(t, Events())
		ana := anaHashes(f)
		bruno, clara := []string{f.Hash("phone", "+5511922220000")}, []string{f.Hash("email", "clara@example.org")}
		all, nAna, nBruno, nClara := count(t, f.Store, nil, time.Time{}), count(t, f.Store, ana, time.Time{}), count(t, f.Store, bruno, time.Time{}), count(t, f.Store, clara, time.Time{})
		if nAna != 15 || nBruno != 6 || nClara != 6 || all != 27 {
			t.Fatalf("fixture: all %d, ana %d, bruno %d, clara %d; want 27, 15, 6, 6", all, nAna, nBruno, nClara)
		}
		r, err := f.Store.Erase(ctx, ana)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rows != nAna {
			t.Errorf("%s: Erase reports %d rows, %d were the person's", f.Store.Name(), r.Rows, nAna)
		}
		if n := count(t, f.Store, ana, time.Time{}); n != 0 {
			t.Errorf("%s: %d rows of the erased person remain", f.Store.Name(), n)
		}
		if count(t, f.Store, bruno, time.Time{}) != nBruno || count(t, f.Store, clara, time.Time{}) != nClara {
			t.Errorf("%s: erasing one person changed another's rows", f.Store.Name())
		}
		if n := count(t, f.Store, nil, time.Time{}); n != all-nAna {
			t.Errorf("%s: %d rows left, want %d", f.Store.Name(), n, all-nAna)
		}
		again, err := f.Store.Erase(ctx, ana)
		if err != nil || again.Rows != 0 {
			t.Errorf("%s: erasing again = %+v, %v; want nothing removed", f.Store.Name(), again, err)
		}
	})
	t.Run("EraseOfNobodyChangesNothing", func(t *testing.T) {
		f := newStore(t, Events())
		before := count(t, f.Store, nil, time.Time{})
		for _, hs := range [][]string{nil, {}, {f.Hash("email", "nobody@example.org")}} {
			r, err := f.Store.Erase(ctx, hs)
			if err != nil || r.Rows != 0 || r.FilesRewritten+r.FilesRemoved != 0 {
				t.Errorf("%s: Erase(%v) = %+v, %v", f.Store.Name(), hs, r, err)
			}
		}
		if count(t, f.Store, nil, time.Time{}) != before {
			t.Errorf("%s: rows changed", f.Store.Name())
		}
	})
	t.Run("ExpireRemovesOlderRowsOnly", func(t *testing.T) {
		f := newStore(t, Events())
		cutoff := Base.AddDate(0, 0, -3) // days 4, 5, 6 are older
		all, old := count(t, f.Store, nil, time.Time{}), count(t, f.Store, nil, cutoff)
		if old != 12 {
			t.Fatalf("fixture: %d rows before the cutoff, want 12", old)
		}
		r, err := f.Store.Expire(ctx, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		if r.Rows != old {
			t.Errorf("%s: Expire reports %d rows, %d were older", f.Store.Name(), r.Rows, old)
		}
		if n := count(t, f.Store, nil, cutoff); n != 0 {
			t.Errorf("%s: %d rows older than the cutoff remain", f.Store.Name(), n)
		}
		if n := count(t, f.Store, nil, time.Time{}); n != all-old {
			t.Errorf("%s: %d rows left, want %d: younger rows must stay", f.Store.Name(), n, all-old)
		}
		again, err := f.Store.Expire(ctx, cutoff)
		if err != nil || again.Rows != 0 {
			t.Errorf("%s: expiring again = %+v, %v", f.Store.Name(), again, err)
		}
	})
}
