package governance

import (
	"testing"
	"time"
)

// Hand-worked replays of consent decisions and identity joins.
func TestReplayConsent(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	dec := func(subject, ev string, granted bool, at time.Time) consentDecision {
		return consentDecision{subject: subject, purpose: PurposeAnalytics, granted: granted, at: at, eventID: ev}
	}
	cases := []struct {
		name      string
		ids       []string
		decisions []consentDecision
		edges     []identityEdge
		inForce   string // event id of the analytics decision in force
		pseudo    bool
		until     time.Time
	}{
		{name: "latest wins for one identifier",
			decisions: []consentDecision{dec("p", "w", false, day(1)), dec("p", "g", true, day(0))},
			inForce:   "w", pseudo: true},
		{name: "a withdrawal and a grant together: both, in event-time order",
			decisions: []consentDecision{dec("p", "g", true, day(3)), dec("p", "w", false, day(1))},
			inForce:   "g", pseudo: true, until: day(3)},
		{name: "never withdrawn: no rule",
			decisions: []consentDecision{dec("p", "g", true, day(3))},
			inForce:   "g"},
		// Both decisions made before the join (day 2), whether or not an
		// enforcement ran between them: the withdrawal wins.
		{name: "merge keeps the most restrictive",
			ids:       []string{"p", "e"},
			decisions: []consentDecision{dec("p", "w", false, day(0)), dec("e", "g", true, day(1))},
			edges:     []identityEdge{{a: "p", b: "e", at: day(2)}},
			inForce:   "w", pseudo: true},
		{name: "the person decides again after the merge",
			ids:       []string{"p", "e"},
			decisions: []consentDecision{dec("p", "w", false, day(0)), dec("e", "g", true, day(1)), dec("e", "g2", true, day(4))},
			edges:     []identityEdge{{a: "p", b: "e", at: day(2)}},
			inForce:   "g2", pseudo: true, until: day(4)},
		{name: "a grant after the join by the other part decides for the person",
			ids:       []string{"p", "e"},
			decisions: []consentDecision{dec("p", "w", false, day(0)), dec("e", "g", true, day(3))},
			edges:     []identityEdge{{a: "p", b: "e", at: day(2)}},
			inForce:   "g", pseudo: true, until: day(3)},
		{name: "parts whose join is not in the events join last: most restrictive",
			ids:       []string{"p", "e"},
			decisions: []consentDecision{dec("p", "w", false, day(0)), dec("e", "g", true, day(5))},
			inForce:   "w", pseudo: true},
		{name: "a stored decision whose event is gone is the whole person's",
			ids:       []string{"p", "e"},
			decisions: []consentDecision{dec("", "w", false, day(0)), dec("e", "g", true, day(2))},
			inForce:   "g", pseudo: true, until: day(2)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := replayConsent(c.ids, c.decisions, c.edges)
			if got := o.inForce[PurposeAnalytics].eventID; got != c.inForce {
				t.Errorf("in force: %s, want %s", got, c.inForce)
			}
			if o.pseudonymize != c.pseudo || !o.until.Equal(c.until) {
				t.Errorf("rule: %v until %v, want %v until %v", o.pseudonymize, o.until, c.pseudo, c.until)
			}
		})
	}
}
