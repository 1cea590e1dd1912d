package simulate

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

func TestDeterministic(t *testing.T) {
	a, b := New(Config{Seed: 7}), New(Config{Seed: 7})
	c := New(Config{Seed: 8})
	differs := false
	for i := range 20000 {
		ma, mb, mc := a.Next(), b.Next(), c.Next()
		if !bytes.Equal(ma.Value, mb.Value) || !bytes.Equal(ma.Key, mb.Key) || ma.Valid != mb.Valid || ma.Defect != mb.Defect {
			t.Fatalf("message %d differs between two generators with the same config:\n%s\n%s", i, ma.Value, mb.Value)
		}
		if !bytes.Equal(ma.Value, mc.Value) {
			differs = true
		}
	}
	if !differs {
		t.Fatal("seeds 7 and 8 produced the same 20,000 messages")
	}
}

// defectCodes is the reject code each defect must produce.
var defectCodes = map[string][]string{
	DefectEmpty:         {event.CodeEmpty},
	DefectNotJSON:       {event.CodeNotJSON},
	DefectInvalidUTF8:   {event.CodeInvalidUTF8},
	DefectNotObject:     {event.CodeWrongType},
	DefectWrongType:     {event.CodeWrongType},
	DefectMissingField:  {event.CodeMissing},
	DefectUnknownType:   {event.CodeUnknownType},
	DefectNoOffset:      {event.CodeBadTime},
	DefectBadScore:      {event.CodeInvalidValue},
	DefectBadSchema:     {event.CodeBadSchema},
	DefectBadIdentifier: {event.CodeInvalidValue},
	DefectBadChannel:    {event.CodeInvalidValue},
}

// observed is what a test sees by decoding a stream.
type observed struct {
	stats     Stats
	events    map[string]event.Event // by event_id, first valid delivery
	handoffs  [2]int                 // without, with context
	extra     int
	zones     map[string]int
	phoneFmts map[string]int
}

func observe(t *testing.T, g *Generator, n int) observed {
	t.Helper()
	o := observed{
		stats:     Stats{ByDefect: map[string]int64{}, ByChannel: map[string]int64{}, ByType: map[string]int64{}},
		events:    make(map[string]event.Event),
		zones:     map[string]int{},
		phoneFmts: map[string]int{},
	}
	raw := make(map[string][]byte)
	lastByKey := make(map[string]time.Time)
	var dec event.Decoder
	for i := range n {
		m := g.Next()
		o.stats.Messages++
		ev, err := dec.Decode(m.Value)
		if !m.Valid {
			var re *event.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("message %d (defect %s) was accepted: %q", i, m.Defect, m.Value)
			}
			if !slices.Contains(defectCodes[m.Defect], re.Code) {
				t.Errorf("defect %s rejected with code %s (%s), want %v", m.Defect, re.Code, re.Reason, defectCodes[m.Defect])
			}
			o.stats.Malformed++
			o.stats.ByDefect[m.Defect]++
			continue
		}
		if err != nil {
			t.Fatalf("valid message %d rejected: %v\n%s", i, err, m.Value)
		}
		if len(m.Key) == 0 {
			t.Fatalf("message %d has no key", i)
		}
		if first, seen := raw[ev.EventID]; seen {
			if !m.Duplicate {
				t.Fatalf("event_id %s reused by a message not marked duplicate", ev.EventID)
			}
			if !bytes.Equal(first, m.Value) {
				t.Fatalf("duplicate of %s differs from the original", ev.EventID)
			}
			o.stats.Duplicates++
			continue
		}
		if m.Duplicate {
			t.Fatalf("message %d marked duplicate but its event_id %s is new", i, ev.EventID)
		}
		if !m.Time.Equal(ev.OccurredAt) {
			t.Fatalf("message %d: Time %v, occurred_at %v", i, m.Time, ev.OccurredAt)
		}
		if last, ok := lastByKey[string(m.Key)]; ok && m.Time.Before(last.Truncate(time.Second)) { // producers write seconds or milliseconds
			t.Fatalf("message %d: key %s goes back in time from %v to %v", i, m.Key, last, m.Time)
		}
		lastByKey[string(m.Key)] = m.Time
		raw[ev.EventID] = m.Value
		o.events[ev.EventID] = ev
		o.stats.Events++
		o.stats.ByChannel[ev.Channel]++
		o.stats.ByType[ev.Type]++
		if ev.Handoff != nil {
			if ev.Handoff.HasContext() {
				o.handoffs[1]++
			} else {
				o.handoffs[0]++
			}
		}
		if ev.Extra != nil {
			o.extra++
		}
		for _, z := range []string{`-03:00"`, `Z"`, `+01:00"`} {
			if bytes.Contains(m.Value, []byte(z+`,"source"`)) {
				o.zones[z]++
			}
		}
		for name, sub := range map[string]string{"jid": "@s.whatsapp.net", "pretty": `"+55 (`} {
			if bytes.Contains(m.Value, []byte(sub)) {
				o.phoneFmts[name]++
			}
		}
	}
	return o
}

func TestValidDecodeInvalidRejectedStatsMatch(t *testing.T) {
	g := New(Config{Seed: 42})
	o := observe(t, g, 50000)
	got := g.Stats()
	if got.Messages != o.stats.Messages || got.Events != o.stats.Events || got.Duplicates != o.stats.Duplicates || got.Malformed != o.stats.Malformed {
		t.Errorf("Stats() = messages %d events %d duplicates %d malformed %d; observed %d %d %d %d",
			got.Messages, got.Events, got.Duplicates, got.Malformed,
			o.stats.Messages, o.stats.Events, o.stats.Duplicates, o.stats.Malformed)
	}
	for name, m := range map[string][2]map[string]int64{
		"ByDefect": {got.ByDefect, o.stats.ByDefect}, "ByChannel": {got.ByChannel, o.stats.ByChannel}, "ByType": {got.ByType, o.stats.ByType},
	} {
		if !maps.Equal(m[0], m[1]) {
			t.Errorf("Stats().%s = %v, observed %v", name, m[0], m[1])
		}
	}
}

func TestCoverage(t *testing.T) {
	g := New(Config{Seed: 1})
	o := observe(t, g, 50000)
	for _, k := range kindNames {
		if o.stats.ByType[k] == 0 {
			t.Errorf("no %s event", k)
		}
	}
	for _, p := range profiles {
		if o.stats.ByChannel[p.name] == 0 {
			t.Errorf("no %s event", p.name)
		}
	}
	for _, d := range Defects() {
		if o.stats.ByDefect[d] == 0 {
			t.Errorf("no %s message", d)
		}
	}
	if o.handoffs[0] == 0 || o.handoffs[1] == 0 {
		t.Errorf("handoffs without/with context: %v, want both", o.handoffs)
	}
	if o.stats.Duplicates == 0 {
		t.Error("no duplicates")
	}
	if o.extra == 0 {
		t.Error("no event with unknown extra fields")
	}
	for _, z := range []string{`-03:00"`, `Z"`, `+01:00"`} {
		if o.zones[z] == 0 {
			t.Errorf("no occurred_at ending in %s", z)
		}
	}
	for _, f := range []string{"jid", "pretty"} {
		if o.phoneFmts[f] == 0 {
			t.Errorf("no phone in %s format", f)
		}
	}
	var links, surveysAlone, withdrawals, agents, bots int
	for _, ev := range o.events {
		switch {
		case ev.Type == event.TypeIdentityLink && ev.Contact.IDs["webchat"] != "" && ev.Link.Email != "":
			links++
		case ev.Type == event.TypeSurvey && ev.ConversationID == "":
			surveysAlone++
		case ev.Type == event.TypeConsent && !ev.Consent.Granted && ev.Consent.Purpose == "analytics":
			withdrawals++
		case ev.Type == event.TypeMessage && ev.Actor.Kind == "agent" && ev.Actor.Team != "" && ev.Actor.ID != "":
			agents++
		case ev.Type == event.TypeMessage && ev.Actor.Kind == "bot":
			bots++
		}
	}
	if links == 0 || surveysAlone == 0 || withdrawals == 0 || agents == 0 || bots == 0 {
		t.Errorf("identity links %d, standalone surveys %d, analytics withdrawals %d, agent messages %d, bot messages %d: want all > 0",
			links, surveysAlone, withdrawals, agents, bots)
	}
}

// TestPeopleAcrossChannels checks that people come back on other channels
// and that the identifiers of one person join up.
func TestPeopleAcrossChannels(t *testing.T) {
	g := New(Config{Seed: 3})
	byKey := map[string]map[string]bool{} // person key -> channels of conversations
	var dec event.Decoder
	for range 100000 {
		m := g.Next()
		if !m.Valid || m.Duplicate {
			continue
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == event.TypeConversationOpened {
			if byKey[string(m.Key)] == nil {
				byKey[string(m.Key)] = map[string]bool{}
			}
			byKey[string(m.Key)][ev.Channel] = true
		}
	}
	multi := 0
	for _, chans := range byKey {
		if len(chans) > 1 {
			multi++
		}
	}
	if multi < len(byKey)/50 {
		t.Errorf("%d of %d people used more than one channel", multi, len(byKey))
	}
}

func TestLapsStayInWindow(t *testing.T) {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	g := New(Config{Seed: 5, Days: 2, PerDay: 500})
	var dec event.Decoder
	laps := 0
	var last time.Time
	for range 40000 {
		m := g.Next()
		if !m.Valid {
			continue
		}
		ev, _ := dec.Decode(m.Value)
		if ev.Type == event.TypeConversationOpened && (ev.OccurredAt.Before(start) || !ev.OccurredAt.Before(start.AddDate(0, 0, 2))) {
			t.Fatalf("conversation opened at %v, outside the window", ev.OccurredAt)
		}
		if !m.Duplicate && m.Time.Before(last.Add(-72*time.Hour)) {
			laps++
		}
		if !m.Duplicate {
			last = m.Time
		}
	}
	if laps == 0 {
		t.Error("the stream never started a second lap")
	}
}

func TestLive(t *testing.T) {
	g := New(Config{Seed: 9})
	for range 1000 {
		g.Next()
	}
	now := time.Date(2026, 11, 21, 15, 0, 0, 0, time.UTC)
	g.LiveAt(func() time.Time { return now })
	var dec event.Decoder
	for i := range 5000 {
		now = now.Add(200 * time.Millisecond)
		m := g.Next()
		if !m.Valid || m.Duplicate {
			continue
		}
		ev, err := dec.Decode(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if ev.OccurredAt.After(now) || ev.OccurredAt.Before(now.Add(-time.Hour)) {
			t.Fatalf("live message %d at %v, clock %v", i, ev.OccurredAt, now)
		}
	}
}

func TestPerDayFor(t *testing.T) {
	const days = 10
	g := New(Config{Seed: 11, Days: days, PerDay: PerDayFor(200000, days)})
	end := DefaultStart.AddDate(0, 0, days)
	n := 0
	for {
		m := g.Next()
		if m.Valid && !m.Time.Before(end.Add(-6*time.Hour)) || n > 400000 {
			break
		}
		n++
	}
	if n < 150000 || n > 250000 {
		t.Errorf("PerDayFor(200000, %d) gave %d messages before the end of the window", days, n)
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(Config{Seed: 1})
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		bytes += int64(len(g.Next().Value))
	}
	b.SetBytes(bytes / int64(b.N))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// TestUntilEndsTheHistory: with Until, no event is stamped after it, the
// last day up to Until has traffic, and the stream goes on (new laps).
func TestUntilEndsTheHistory(t *testing.T) {
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := start.Add(2*24*time.Hour + 15*time.Hour)
	g := New(Config{Seed: 3, Start: start, Days: 3, PerDay: 300, Until: until, MalformedRate: -1, DuplicateRate: -1})
	var lastDay int
	for i := 0; i < 20000; i++ {
		m := g.Next()
		if m.Time.After(until) {
			t.Fatalf("message %d is stamped %s, after Until %s", i, m.Time, until)
		}
		if m.Time.Before(start) {
			t.Fatalf("message %d is stamped %s, before Start", i, m.Time)
		}
		if !m.Time.Before(until.Truncate(24 * time.Hour)) {
			lastDay++
		}
	}
	if lastDay < 100 {
		t.Errorf("%d messages on Until's day: the history does not reach it", lastDay)
	}
}
