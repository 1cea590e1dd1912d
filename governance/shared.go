package governance

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// Shared identifiers (GDPR art. 15(4): an access right must not adversely
// affect the rights of others). Identity resolution joins everything one
// identifier names, so two people who use one phone (a family phone, a
// shop's line) become one person. An identifier other than an e-mail that
// events name together with two or more e-mails is *shared*: it links
// people who may be different. The mart shared_identifiers flags the same
// identifiers by the same rule (models/marts/shared_identifiers.sql).
//
// A request then answers with what the identifier it names proves. Without
// the shared identifiers, the person's identifiers fall apart into parts
// (joined by the events that name them together); the request's part is
// the one its identifier is in (the shared identifier alone, when it names
// that). An event is the requester's when it names an identifier of their
// part and nothing outside their part and the shared identifiers: an event
// naming the shared phone alone could be anyone's, so it is withheld.

// sharing is how a resolved person's identifiers split around the shared
// ones. With no shared identifier, everything is one part.
type sharing struct {
	shared map[string]bool // identifier hashes named together with two or more e-mails
	root   map[string]string
	events []namedEvent // the person's events and what each names
}

// namedEvent is one of the person's events and the identifier hashes it names.
type namedEvent struct {
	id, conversation string
	hashes           []string
}

// linked reports whether the person links several people: some identifier
// is shared.
func (s sharing) linked() bool { return len(s.shared) > 0 }

// partOf returns the identifiers a request naming hash proves: its part,
// or the shared identifier alone.
func (s sharing) partOf(hash string) map[string]bool {
	out := map[string]bool{hash: true}
	if s.shared[hash] {
		return out
	}
	r, ok := s.root[hash]
	if !ok {
		return out
	}
	for h, hr := range s.root {
		if hr == r {
			out[h] = true
		}
	}
	return out
}

// discloses reports whether event e is the requester's, part being the
// identifiers their request proves.
func (s sharing) discloses(e namedEvent, part map[string]bool) bool {
	mine := false
	for _, h := range e.hashes {
		switch {
		case part[h]:
			mine = true
		case !s.shared[h]:
			return false
		}
	}
	return mine
}

// otherParts counts the parts other than part's.
func (s sharing) otherParts(part map[string]bool) int {
	roots := map[string]bool{}
	for h, r := range s.root {
		if !part[h] {
			roots[r] = true
		}
	}
	return len(roots)
}

// sharingOf reads the events of the person whose identifier hashes are
// given and finds the shared identifiers and the parts.
func sharingOf(ctx context.Context, q querier, hashes []string) (sharing, error) {
	s := sharing{shared: map[string]bool{}, root: map[string]string{}}
	rows, err := q.QueryContext(ctx, `select event_id, coalesce(conversation_id, ''), contact_phone_hash, contact_email_hash,
		    contact_ids_hash::varchar, link_phone_hash, link_email_hash, link_ids_hash::varchar
		from events where `+personOnly+` order by occurred_at, event_id`, hashes)
	if err != nil {
		return s, fmt.Errorf("reading the identifiers the person's events name: %w", err)
	}
	defer rows.Close()
	emailsWith := map[string]map[string]bool{} // other identifier -> e-mails named with it
	for rows.Next() {
		var e namedEvent
		var cp, ce, ci, lp, le, li sql.NullString
		if err := rows.Scan(&e.id, &e.conversation, &cp, &ce, &ci, &lp, &le, &li); err != nil {
			return s, fmt.Errorf("reading the identifiers the person's events name: %w", err)
		}
		var emails, others []string
		for _, v := range []sql.NullString{ce, le} {
			if v.Valid && v.String != "" {
				emails = append(emails, v.String)
			}
		}
		for _, v := range []sql.NullString{cp, lp} {
			if v.Valid && v.String != "" {
				others = append(others, v.String)
			}
		}
		for _, m := range []sql.NullString{ci, li} {
			ids, err := channelIDHashes(m)
			if err != nil {
				return s, err
			}
			for _, h := range ids {
				others = append(others, h)
			}
		}
		for _, o := range others {
			if emailsWith[o] == nil {
				emailsWith[o] = map[string]bool{}
			}
			for _, m := range emails {
				emailsWith[o][m] = true
			}
		}
		e.hashes = append(emails, others...)
		slices.Sort(e.hashes)
		e.hashes = slices.Compact(e.hashes)
		s.events = append(s.events, e)
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("reading the identifiers the person's events name: %w", err)
	}
	for o, ms := range emailsWith {
		if len(ms) >= 2 {
			s.shared[o] = true
		}
	}
	// The parts: identifiers joined by the events, the shared ones left out.
	parent := map[string]string{}
	var find func(string) string
	find = func(h string) string {
		p, ok := parent[h]
		if !ok {
			parent[h] = h
			return h
		}
		if p == h {
			return h
		}
		r := find(p)
		parent[h] = r
		return r
	}
	for _, e := range s.events {
		first := ""
		for _, h := range e.hashes {
			if s.shared[h] {
				continue
			}
			if first == "" {
				first = find(h)
				continue
			}
			if r := find(h); r != first {
				parent[r] = first
			}
		}
	}
	for h := range parent {
		s.root[h] = find(h)
	}
	return s, nil
}

// deadLettersOfPart returns the dead letters an export discloses, and how
// many it withholds. part nil: every dead letter mentioning the person.
// Otherwise those mentioning an identifier of the part and none of the
// other parts'; one mentioning the shared identifier alone (when the
// request did not name it), or another part's identifier, is withheld.
// values maps hashes to the person's identifier values.
func (g *Governance) deadLettersOfPart(ctx context.Context, q querier, values map[string]string, part, shared map[string]bool) ([]deadLetterRef, int, error) {
	if part == nil {
		dls, err := g.deadLettersMentioning(ctx, q, values)
		return dls, 0, err
	}
	own, others, sharedOnly := map[string]string{}, map[string]string{}, map[string]string{}
	for h, v := range values {
		switch {
		case part[h]:
			own[h] = v
		case shared[h]:
			sharedOnly[h] = v
		default:
			others[h] = v
		}
	}
	mine, err := g.deadLettersMentioning(ctx, q, own)
	if err != nil {
		return nil, 0, err
	}
	theirs, err := g.deadLettersMentioning(ctx, q, others)
	if err != nil {
		return nil, 0, err
	}
	viaShared, err := g.deadLettersMentioning(ctx, q, sharedOnly)
	if err != nil {
		return nil, 0, err
	}
	withheld := map[deadLetterRef]bool{}
	for _, d := range theirs {
		withheld[d] = true
	}
	var out []deadLetterRef
	for _, d := range mine {
		if !withheld[d] {
			out = append(out, d)
		}
	}
	disclosed := map[deadLetterRef]bool{}
	for _, d := range out {
		disclosed[d] = true
	}
	for _, d := range viaShared {
		if !disclosed[d] {
			withheld[d] = true
		}
	}
	return out, len(withheld), nil
}
