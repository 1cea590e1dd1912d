package governance

import (
	"slices"
	"time"
)

// Consent by event time, across merges: a person's consent decisions are
// replayed in the order they occurred, together with the events that joined
// their identifiers into one person (the first event naming two identifiers
// joins them at its occurred_at).
//
//   - A decision applies to the part of the person its identifier belonged
//     to when it was made.
//   - When two parts join, the most restrictive decision in force for either
//     part wins (per purpose: a withdrawal over a grant, else the later),
//     until the person decides again (a decision that occurred after the
//     join).
//   - Parts the events do not show joining (their joining events are gone,
//     say to retention) join after every decision: the most restrictive wins.
//
// For analytics, a withdrawal covers the person's events from the start
// until the grant that lifts it (what was kept is redacted; what arrives
// dated inside the window is stored without personal data).

// consentDecision is one consent event (or a consent_state row whose event
// is gone, with no subject: it was the whole person's).
type consentDecision struct {
	subject string // identifier hash of the event's subject; "" for the whole person
	purpose string
	granted bool
	at      time.Time
	eventID string
}

func (d consentDecision) after(o consentDecision) bool {
	if !d.at.Equal(o.at) {
		return d.at.After(o.at)
	}
	return d.eventID > o.eventID
}

// stricter is the decision that wins when two parts join.
func stricter(a, b consentDecision) consentDecision {
	if a.granted != b.granted {
		if !a.granted {
			return a
		}
		return b
	}
	if b.after(a) {
		return b
	}
	return a
}

// identityEdge is the first event naming two identifiers together.
type identityEdge struct {
	a, b string
	at   time.Time
}

// consentPart is the state of one part of a person during the replay.
type consentPart struct {
	inForce   map[string]consentDecision // by purpose
	withdrawn bool                       // analytics was withdrawn at some point
	liftedAt  time.Time                  // occurred_at of the grant that last lifted a withdrawal
}

func (p *consentPart) decide(d consentDecision) {
	if d.purpose == PurposeAnalytics {
		if prev, ok := p.inForce[d.purpose]; ok && !prev.granted && d.granted {
			p.liftedAt = d.at
		}
		if !d.granted {
			p.withdrawn = true
		}
	}
	p.inForce[d.purpose] = d
}

func joinParts(a, b *consentPart) *consentPart {
	out := &consentPart{inForce: map[string]consentDecision{}, withdrawn: a.withdrawn || b.withdrawn, liftedAt: a.liftedAt}
	if b.liftedAt.After(out.liftedAt) {
		out.liftedAt = b.liftedAt
	}
	for _, p := range []*consentPart{a, b} {
		for purpose, d := range p.inForce {
			if cur, ok := out.inForce[purpose]; ok {
				d = stricter(cur, d)
			}
			out.inForce[purpose] = d
		}
	}
	return out
}

// consentOutcome is a person's consent after the replay.
type consentOutcome struct {
	inForce map[string]consentDecision // by purpose
	// pseudonymize says the person's identifiers carry the analytics
	// pseudonymize rule; until is its end (zero: in force, every event).
	pseudonymize bool
	until        time.Time
	ref          string // the withdrawal (in force) or the grant that lifted it
}

// replayConsent replays one person's decisions. ids are the person's
// identifier hashes (needed only when decisions come from several
// identifiers or from a state row); edges join them.
func replayConsent(ids []string, decisions []consentDecision, edges []identityEdge) consentOutcome {
	parent := map[string]string{}
	parts := map[string]*consentPart{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok {
			parent[x] = x
			return x
		}
		if p == x {
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	part := func(root string) *consentPart {
		p, ok := parts[root]
		if !ok {
			p = &consentPart{inForce: map[string]consentDecision{}}
			parts[root] = p
		}
		return p
	}
	union := func(a, b string) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		pa, oka := parts[ra]
		pb, okb := parts[rb]
		delete(parts, ra)
		delete(parts, rb)
		parent[ra] = rb
		switch {
		case oka && okb:
			parts[rb] = joinParts(pa, pb)
		case oka:
			parts[rb] = pa
		case okb:
			parts[rb] = pb
		}
	}
	for _, id := range ids {
		find(id)
	}
	decisions = slices.Clone(decisions)
	slices.SortFunc(decisions, func(a, b consentDecision) int {
		if a.after(b) {
			return 1
		}
		if b.after(a) {
			return -1
		}
		return 0
	})
	edges = slices.Clone(edges)
	slices.SortFunc(edges, func(a, b identityEdge) int { return a.at.Compare(b.at) })
	e := 0
	for _, d := range decisions {
		// An event joining two identifiers at the same instant as a
		// decision joins them first.
		for ; e < len(edges) && !edges[e].at.After(d.at); e++ {
			union(edges[e].a, edges[e].b)
		}
		subject := d.subject
		if subject == "" {
			// A decision of the whole person as stored: everything known
			// of the person joins (most restrictive), then it decides.
			for id := range parent {
				if subject == "" {
					subject = id
				}
				union(subject, id)
			}
			if subject == "" {
				subject = "\x00person"
			}
		}
		part(find(subject)).decide(d)
	}
	// Whatever is left unjoined joins now.
	var root string
	for id := range parent {
		if root == "" {
			root = id
			continue
		}
		union(root, id)
	}
	final := &consentPart{inForce: map[string]consentDecision{}}
	if root != "" {
		if p, ok := parts[find(root)]; ok {
			final = p
		}
	}
	out := consentOutcome{inForce: final.inForce}
	if d, ok := final.inForce[PurposeAnalytics]; ok && !d.granted {
		out.pseudonymize, out.ref = true, d.eventID
	} else if final.withdrawn {
		out.pseudonymize, out.until = true, final.liftedAt
		if ok {
			out.ref = d.eventID
		}
	}
	return out
}
