package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/privacy"
)

// Export is everything held about one person (GDPR art. 15, LGPD art. 18
// II and art. 19), as one JSON document. Values whose keys were destroyed
// (consent withdrawn, past retention) are marked redacted.
type Export struct {
	RequestID   string    `json:"request_id"`
	GeneratedAt time.Time `json:"generated_at"`
	Subject     string    `json:"subject"` // keyed hash of the identifier named in the request
	Law         string    `json:"law"`
	DueAt       time.Time `json:"due_at"`
	// Processing says why and how long the data is kept (GDPR art. 15(1)).
	Processing      Processing         `json:"processing"`
	ContactKeys     []string           `json:"contact_keys"`
	Identifiers     []ExportIdentifier `json:"identifiers"`
	Events          []map[string]any   `json:"events"`
	DeadLetters     []ExportDeadLetter `json:"dead_letters"`
	Consent         []map[string]any   `json:"consent"`
	Conversations   []map[string]any   `json:"conversations"`
	PrivacyRequests []map[string]any   `json:"privacy_requests"`
	Suppressed      bool               `json:"suppressed"` // an earlier erasure suppressed one of the identifiers
	// Withheld says what was left out because it may be another person's
	// (a shared identifier, see shared.go); absent when nothing was.
	Withheld *Withheld `json:"withheld,omitempty"`
}

// Withheld counts what an access export left out, and says why. It holds
// counts only: no value, hash or key of the people it protects.
type Withheld struct {
	Reason string `json:"reason"`
	// SharedIdentifiers counts, by kind, the identifiers named together
	// with several e-mails (a family phone, a shop's line).
	SharedIdentifiers map[string]int `json:"shared_identifiers"`
	// OtherParts counts the groups of identifiers, joined to the requested
	// one only through a shared identifier, that may be other people.
	OtherParts      int            `json:"other_parts"`
	Identifiers     map[string]int `json:"identifiers"` // by kind
	Events          int            `json:"events"`
	DeadLetters     int            `json:"dead_letters"`
	Consent         int            `json:"consent"`
	Conversations   int            `json:"conversations"`
	PrivacyRequests int            `json:"privacy_requests"`
}

// withheldReason is Withheld.Reason.
const withheldReason = "GDPR art. 15(4): this identity is linked to other identifiers only through an identifier that is " +
	"shared (named together with several e-mail addresses), so they may be other people's. The export holds what the " +
	"requested identifier proves: the events naming it or its own linked identifiers, and nothing outside them but " +
	"the shared identifier. Withheld: events that name only the shared identifier or another person's identifiers, " +
	"and what belongs to those events."

// Processing describes the processing of the data, for the access export.
type Processing struct {
	Purposes  []string          `json:"purposes"`
	Retention map[string]string `json:"retention"`
	Source    string            `json:"source"`
}

// ExportIdentifier is one of the person's identifiers.
type ExportIdentifier struct {
	Kind        string     `json:"kind"`
	Value       *string    `json:"value"` // null when redacted
	Hash        string     `json:"hash"`
	FirstSeenAt *time.Time `json:"first_seen_at,omitempty"`
	Redacted    bool       `json:"redacted,omitempty"`
}

// ExportDeadLetter is a rejected message that mentions the person.
type ExportDeadLetter struct {
	Topic      string    `json:"topic"`
	Partition  int       `json:"partition"`
	Offset     int64     `json:"offset"`
	ReasonCode string    `json:"reason_code"`
	Reason     string    `json:"reason"`
	ReceivedAt time.Time `json:"received_at"`
	Raw        string    `json:"raw"`
}

// ExportRequest asks for an access export.
type ExportRequest struct {
	Identifier Identifier
	Actor      string
	// Law is the law the request is made under (LawGDPR or LawLGPD).
	// Empty: governance.law.
	Law string
}

// Export gathers everything held about the person req names, records the
// access request (completed at once) and its audit record. An identifier
// that names nothing held is recorded as a request with status no_data
// (and an audit record), and returns ErrUnknownSubject.
func (g *Governance) Export(ctx context.Context, req ExportRequest) (*Export, error) {
	if err := CheckLaw(req.Law); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	db := g.wh.DB
	h := privacy.NewHasher(g.wh.HashKey())
	p, err := g.resolve(ctx, db, req.Identifier)
	if err != nil {
		return nil, err
	}
	hashes := p.Hashes()
	sh, err := sharingOf(ctx, db, hashes)
	if err != nil {
		return nil, err
	}
	// part: the identifiers the request proves; nil: the whole person.
	var part map[string]bool
	var w *Withheld
	if sh.linked() {
		if req.Identifier.Kind == KindContactKey {
			return nil, &LinkedPeopleError{Shared: len(sh.shared), Others: sh.otherParts(nil), Export: true}
		}
		part = sh.partOf(req.Identifier.hash(h))
		w = &Withheld{Reason: withheldReason, SharedIdentifiers: map[string]int{}, Identifiers: map[string]int{},
			OtherParts: sh.otherParts(part)}
		for s := range sh.shared {
			w.SharedIdentifiers[p.Kinds[s]]++
		}
	}
	// The events disclosed, and the identifiers and conversations they name.
	disclosed, named := map[string]bool{}, map[string]bool{}
	convOK, convWithheld := map[string]bool{}, map[string]bool{}
	for _, e := range sh.events {
		if part == nil || sh.discloses(e, part) {
			disclosed[e.id] = true
			for _, hh := range e.hashes {
				named[hh] = true
			}
			convOK[e.conversation] = true
		} else {
			convWithheld[e.conversation] = true
		}
	}
	mine := func(hash string) bool { return part == nil || part[hash] || sh.shared[hash] && named[hash] }
	values, err := g.identifierValues(ctx, db, hashes)
	if err != nil {
		return nil, err
	}
	if req.Identifier.Kind != KindContactKey {
		values[req.Identifier.hash(h)] = req.Identifier.Value
	}
	x := &Export{ContactKeys: p.ContactKeys, Identifiers: []ExportIdentifier{}, Events: []map[string]any{},
		DeadLetters: []ExportDeadLetter{}, Consent: []map[string]any{}, Conversations: []map[string]any{}, PrivacyRequests: []map[string]any{},
		Withheld: w}
	if x.ContactKeys == nil {
		x.ContactKeys = []string{}
	}
	if err := g.exportIdentifiers(ctx, db, p, x, mine); err != nil {
		return nil, err
	}
	if err := g.exportEvents(ctx, db, hashes, x, func(id string) bool { return part == nil || disclosed[id] }); err != nil {
		return nil, err
	}
	dls, withheldDLs, err := g.deadLettersOfPart(ctx, db, values, part, sh.shared)
	if err != nil {
		return nil, err
	}
	for _, d := range dls {
		var e ExportDeadLetter
		var raw, key []byte
		if err := db.QueryRowContext(ctx, `select topic, "partition", "offset", reason_code, reason, received_at, raw, message_key
			from dead_letters where topic = ? and "partition" = ? and "offset" = ?`, d.topic, d.partition, d.offset).
			Scan(&e.Topic, &e.Partition, &e.Offset, &e.ReasonCode, &e.Reason, &e.ReceivedAt, &raw, &key); err != nil {
			return nil, fmt.Errorf("reading a dead letter: %w", err)
		}
		pr, _, err := privacy.OpenDeadLetter(g.wh.Keys(), e.Topic, e.Partition, e.Offset, raw, key)
		if err == nil {
			e.Raw = string(pr)
		}
		x.DeadLetters = append(x.DeadLetters, e)
	}
	if len(p.ContactKeys) > 0 {
		for _, t := range []struct {
			table string
			dst   *[]map[string]any
			keep  func(map[string]any) bool
		}{
			{"consent_state", &x.Consent, func(m map[string]any) bool { ev, _ := m["event_id"].(string); return disclosed[ev] }},
			{"conversations", &x.Conversations, func(m map[string]any) bool {
				c, _ := m["conversation_id"].(string)
				return convOK[c] && !convWithheld[c]
			}},
		} {
			ok, err := tableExists(ctx, db, t.table)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			all, err := queryMaps(ctx, db, `select * from `+t.table+` where contact_key in (select unnest(?::varchar[])) order by all`, p.ContactKeys)
			if err != nil {
				return nil, err
			}
			for _, m := range all {
				if part == nil || t.keep(m) {
					*t.dst = append(*t.dst, m)
				} else if t.table == "consent_state" {
					w.Consent++
				} else {
					w.Conversations++
				}
			}
		}
	}
	fillConsentTerms(x)
	// Requests filed by an identifier of the part (or, for a whole person,
	// by any of theirs or by contact key).
	own := []string{}
	for _, hh := range hashes {
		if part == nil || part[hh] {
			own = append(own, hh)
		}
	}
	if part == nil {
		own = append(own, p.ContactKeys...)
	}
	if x.PrivacyRequests, err = queryMaps(ctx, db, `select request_id, kind, status, identifier_kind, law, received_at, due_at, completed_at
		from privacy_requests where subject_hash in (select unnest(?::varchar[])) order by received_at, request_id`, own); err != nil {
		return nil, err
	}
	var suppressed int
	if err := db.QueryRowContext(ctx, `select count(*) from identifier_rules where rule = 'suppress' and identifier_hash in (select unnest(?::varchar[]))`,
		own).Scan(&suppressed); err != nil {
		return nil, fmt.Errorf("reading suppression rules: %w", err)
	}
	x.Suppressed = suppressed > 0
	if w != nil {
		w.Events = len(sh.events) - len(disclosed)
		w.DeadLetters = withheldDLs
		for _, hh := range hashes {
			if !mine(hh) && p.Seen[hh] {
				w.Identifiers[p.Kinds[hh]]++
			}
		}
		var others int
		if err := db.QueryRowContext(ctx, `select count(*) from privacy_requests where subject_hash in (select unnest(?::varchar[]))
			and subject_hash not in (select unnest(?::varchar[]))`, append(slices.Clone(hashes), p.ContactKeys...), own).Scan(&others); err != nil {
			return nil, fmt.Errorf("counting withheld privacy requests: %w", err)
		}
		w.PrivacyRequests = others
	}
	if len(x.Identifiers) == 0 && len(x.Events) == 0 && len(x.DeadLetters) == 0 && len(x.Conversations) == 0 &&
		len(x.PrivacyRequests) == 0 && !x.Suppressed {
		_, err := g.recordNoData(ctx, KindAccess, req.Law, req.Identifier, req.Identifier.hash(h), "", req.Actor, "")
		return nil, err
	}

	r := g.newRequest(KindAccess, req.Law, req.Identifier, req.Identifier.hash(h), "")
	x.RequestID, x.Subject, x.Law, x.DueAt = r.ID, r.Subject, r.Law, r.Due
	x.GeneratedAt = r.Received
	x.Processing = g.processing()
	if err := g.recordRequest(ctx, db, r); err != nil {
		return nil, err
	}
	idx, err := g.audit.Append(ctx, audit.Record{Kind: audit.KindPrivacyRequest, Actor: req.Actor, Subject: r.Subject,
		Detail: map[string]any{"request_id": r.ID, "type": KindAccess, "status": StatusCompleted,
			"identifiers": len(x.Identifiers), "events": len(x.Events), "dead_letters": len(x.DeadLetters),
			"withheld_events": withheldEvents(w)}})
	if err != nil {
		g.failRequest(ctx, db, r.ID, err)
		return nil, &StepError{Step: "appending the audit record", Err: err}
	}
	if _, err := g.audit.Checkpoint(ctx); err != nil {
		return nil, &StepError{Step: "signing the audit checkpoint", Err: err}
	}
	if err := g.completeRequest(ctx, db, r.ID, g.now(), idx, nil); err != nil {
		return nil, err
	}
	return x, nil
}

func (g *Governance) processing() Processing {
	r := g.cfg.Retention
	return Processing{
		Purposes: []string{"analytics: customer-service quality measures (response times, resolution, satisfaction) across channels"},
		Retention: map[string]string{"message_text": days(r.MessageText), "raw_events": days(r.RawEvents),
			"dead_letters": days(r.DeadLetters), "audit": days(r.Audit)},
		Source: "the customer-service platforms that sent the events (see each event's source and kafka_topic)",
	}
}

// withheldEvents is how many events w withheld (0 for none).
func withheldEvents(w *Withheld) int {
	if w == nil {
		return 0
	}
	return w.Events
}

// exportIdentifiers adds the person's identifiers that keep accepts.
func (g *Governance) exportIdentifiers(ctx context.Context, db *sql.DB, p Person, x *Export, keep func(hash string) bool) error {
	stored := map[string]bool{}
	rows, err := db.QueryContext(ctx, `select identifier_hash, identifier_kind, sealed_value, first_seen_at from identifiers
		where identifier_hash in (select unnest(?::varchar[])) order by identifier_kind, first_seen_at`, p.Hashes())
	if err != nil {
		return fmt.Errorf("reading identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e ExportIdentifier
		var sealed []byte
		var first time.Time
		if err := rows.Scan(&e.Hash, &e.Kind, &sealed, &first); err != nil {
			return fmt.Errorf("reading identifiers: %w", err)
		}
		if !keep(e.Hash) {
			continue
		}
		e.FirstSeenAt = &first
		if v, err := privacy.OpenIdentifier(g.wh.Keys(), e.Hash, sealed); err == nil {
			e.Value = &v
		} else {
			e.Redacted = true
		}
		stored[e.Hash] = true
		x.Identifiers = append(x.Identifiers, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Identifiers known only as hashes (never stored in clear: consent withdrawn).
	for _, hash := range p.Hashes() {
		if !stored[hash] && p.Seen[hash] && keep(hash) {
			x.Identifiers = append(x.Identifiers, ExportIdentifier{Kind: p.Kinds[hash], Hash: hash, Redacted: true})
		}
	}
	return nil
}

// exportEvents adds the person's events that keep accepts (by event id),
// their content unsealed. The others are never unsealed.
func (g *Governance) exportEvents(ctx context.Context, db *sql.DB, hashes []string, x *Export, keep func(id string) bool) error {
	evs, err := queryMaps(ctx, db, `select * from events where `+personOnly+` order by occurred_at, event_id`, hashes)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if id, _ := e["event_id"].(string); !keep(id) {
			continue
		}
		sealed, _ := e["content"].([]byte)
		delete(e, "content")
		if sealed == nil {
			e["content"] = nil
			e["content_redacted"] = true
		} else {
			id, _ := e["event_id"].(string)
			subject, _ := e["subject_hash"].(string)
			at, _ := e["occurred_at"].(time.Time)
			c, err := privacy.OpenContent(g.wh.Keys(), id, subject, at, sealed)
			if err != nil {
				e["content"] = nil
				e["content_redacted"] = true
			} else {
				e["content"] = c
				e["raw"] = string(c.Raw)
			}
		}
		x.Events = append(x.Events, e)
	}
	return nil
}

// fillConsentTerms gives each consent_state row of x the basis and source
// of its deciding event, from that event's opened content: their one home
// (consent_state keeps no copy). They stay null when the event is not in
// the export or its content is redacted (consent withdrawn, past
// retention).
func fillConsentTerms(x *Export) {
	terms := map[string]privacy.Content{}
	for _, e := range x.Events {
		if c, ok := e["content"].(privacy.Content); ok {
			id, _ := e["event_id"].(string)
			terms[id] = c
		}
	}
	for _, m := range x.Consent {
		id, _ := m["event_id"].(string)
		if c, ok := terms[id]; ok {
			m["basis"], m["source"] = nonEmpty(c.ConsentBasis), nonEmpty(c.ConsentSource)
		}
	}
}

// nonEmpty is s, or nil for "" (a JSON null, as the column was).
func nonEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// queryMaps returns each row as a column -> value map.
func queryMaps(ctx context.Context, q querier, query string, args ...any) ([]map[string]any, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("exporting: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("exporting: %w", err)
		}
		m := make(map[string]any, len(cols))
		for i, c := range cols {
			m[c] = vals[i]
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, errors.Join(fmt.Errorf("exporting"), err)
	}
	return out, nil
}
