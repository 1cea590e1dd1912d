package governance

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// PurposeAnalytics is the warehouse's own purpose: withdrawing it stops the
// storage of a person's personal data.
const PurposeAnalytics = "analytics"

// ConsentReport says what an enforcement did.
type ConsentReport struct {
	Changes     int   // consent_state rows inserted or changed
	Withdrawn   int   // people newly enforced as having withdrawn analytics
	Regranted   int   // people whose withdrawal was lifted by a later grant
	Identifiers int   // identifiers newly pseudonymized
	Redacted    int64 // events whose content was dropped
	Keys        int   // data keys destroyed
	DeadLetters int   // dead letters keyed out: they mention a withdrawn person
}

// EnforceConsent brings consent_state and the analytics pseudonymize rules
// up to the consent events, judged by event time (consent_replay.go): the
// latest decision per person and purpose wins, except that when identities
// merge the most restrictive decision in force for any part wins until the
// person decides again. People are as the identity model resolves them;
// consent_state rows of a key that merged into another are re-keyed.
//
//   - withdrawn: the person's identifiers get the pseudonymize rule, so
//     ingest stores their events without personal data; their data keys
//     are destroyed, their identifier values deleted and the content of
//     their stored events dropped (earlier data redacted). Rows and hashes
//     stay, so KPI counts are unchanged; the timeline no longer shows them.
//   - granted again later: the rule is lifted for events that occurred from
//     the grant on; it keeps covering the events dated before it, so a late
//     event dated inside the withdrawn window is still stored without
//     personal data. What was redacted stays redacted.
//
// A withdrawal and a grant that arrive together are both applied, in
// event-time order. Every consent event is appended to the audit log once,
// and so is every change of consent_state (a decision, a merge, a re-key)
// and every rule lifted. It needs the models (int_identifiers_resolved);
// without them it does nothing.
func (g *Governance) EnforceConsent(ctx context.Context) (ConsentReport, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var rep ConsentReport
	ok, err := tableExists(ctx, g.wh.DB, "int_identifiers_resolved")
	if err != nil || !ok {
		return rep, err
	}
	err = g.wh.Exclusive(ctx, func(ctx context.Context, db *sql.DB) error {
		conn, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer conn.Close()
		people, err := loadConsentPeople(ctx, conn)
		if err != nil {
			return err
		}
		outcomes := make(map[string]consentOutcome, len(people))
		for key, p := range people {
			outcomes[key] = replayConsent(p.ids, p.decisions, p.edges)
		}
		var recs []audit.Record
		stateRecs, err := g.updateConsentState(ctx, conn, people, outcomes)
		if err != nil {
			return err
		}
		rep.Changes = len(stateRecs)
		recs = append(recs, stateRecs...)
		ruleRecs, err := g.applyConsentRules(ctx, conn, outcomes, &rep)
		if err != nil {
			return err
		}
		recs = append(recs, ruleRecs...)
		eventRecs, batch, err := newConsentEvents(ctx, conn, outcomes, recs)
		if err != nil {
			return err
		}
		recs = append(recs, eventRecs...)
		if len(recs) > 0 {
			if _, err := g.audit.AppendAll(ctx, recs); err != nil {
				return &StepError{Step: "auditing consent changes", Err: err}
			}
		}
		if _, err := conn.ExecContext(ctx, `insert or replace into warehouse_meta values (?, ?)`, metaConsentAudited, strconv.FormatInt(batch, 10)); err != nil {
			return fmt.Errorf("recording the audited consent events: %w", err)
		}
		return nil
	})
	return rep, err
}

// metaConsentAudited names the warehouse_meta row holding the last ingest
// batch whose consent events are in the audit log.
const metaConsentAudited = "consent_audited_batch"

// consentPerson is what the replay needs of one person.
type consentPerson struct {
	decisions []consentDecision
	ids       []string
	edges     []identityEdge
}

// loadConsentPeople reads the consent decisions of every person who has
// one, and, for those whose decisions come from several identifiers (or
// from a stored state whose event is gone), their identifiers and the
// events that joined them.
func loadConsentPeople(ctx context.Context, conn *sql.Conn) (map[string]*consentPerson, error) {
	people := map[string]*consentPerson{}
	person := func(key string) *consentPerson {
		p, ok := people[key]
		if !ok {
			p = &consentPerson{}
			people[key] = p
		}
		return p
	}
	rows, err := conn.QueryContext(ctx, `select r.contact_key, e.subject_hash, e.consent_purpose, e.consent_granted,
		    e.occurred_at, e.event_id
		from events e join int_identifiers_resolved r on r.identifier_hash = e.subject_hash
		where e.type = 'consent' and e.consent_purpose is not null and e.consent_granted is not null
		union all
		select s.contact_key, '', s.purpose, s.granted, s.decided_at, s.event_id
		from consent_state s
		where s.contact_key in (select contact_key from int_identifiers_resolved)
		  and s.event_id not in (select event_id from events where type = 'consent')`)
	if err != nil {
		return nil, fmt.Errorf("reading consent decisions: %w", err)
	}
	for rows.Next() {
		var key string
		var d consentDecision
		if err := rows.Scan(&key, &d.subject, &d.purpose, &d.granted, &d.at, &d.eventID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading consent decisions: %w", err)
		}
		p := person(key)
		p.decisions = append(p.decisions, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading consent decisions: %w", err)
	}
	// People whose parts may have decided differently.
	var keys []string
	for key, p := range people {
		subjects := map[string]bool{}
		for _, d := range p.decisions {
			subjects[d.subject] = true
		}
		if len(subjects) > 1 || subjects[""] {
			keys = append(keys, key)
		}
	}
	if len(keys) == 0 {
		return people, nil
	}
	rows, err = conn.QueryContext(ctx, `select contact_key, identifier_hash from int_identifiers_resolved
		where contact_key in (select unnest(?::varchar[]))`, keys)
	if err != nil {
		return nil, fmt.Errorf("reading the identifiers of consenting people: %w", err)
	}
	keyOf := map[string]string{}
	var hashes []string
	for rows.Next() {
		var key, h string
		if err := rows.Scan(&key, &h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the identifiers of consenting people: %w", err)
		}
		keyOf[h] = key
		hashes = append(hashes, h)
		people[key].ids = append(people[key].ids, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the identifiers of consenting people: %w", err)
	}
	rows, err = conn.QueryContext(ctx, `select subject_hash, contact_phone_hash, contact_email_hash, contact_ids_hash::varchar,
		    link_phone_hash, link_email_hash, link_ids_hash::varchar, min(occurred_at)
		from events where subject_hash in (select unnest(?::varchar[]))
		group by all`, hashes)
	if err != nil {
		return nil, fmt.Errorf("reading the events that joined consenting people: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var subject string
		var cp, ce, ci, lp, le, li sql.NullString
		var at time.Time
		if err := rows.Scan(&subject, &cp, &ce, &ci, &lp, &le, &li, &at); err != nil {
			return nil, fmt.Errorf("reading the events that joined consenting people: %w", err)
		}
		p := people[keyOf[subject]]
		if p == nil {
			continue
		}
		named := []string{}
		for _, v := range []sql.NullString{cp, ce, lp, le} {
			if v.Valid && v.String != "" {
				named = append(named, v.String)
			}
		}
		for _, m := range []sql.NullString{ci, li} {
			ids, err := channelIDHashes(m)
			if err != nil {
				return nil, err
			}
			for _, h := range ids {
				named = append(named, h)
			}
		}
		for _, h := range named {
			if h != subject {
				p.edges = append(p.edges, identityEdge{a: subject, b: h, at: at})
			}
		}
	}
	return people, rows.Err()
}

// updateConsentState writes the decision in force per person and purpose,
// re-keys the rows of keys that merged into another, and returns an audit
// record per change.
func (g *Governance) updateConsentState(ctx context.Context, conn *sql.Conn, people map[string]*consentPerson, outcomes map[string]consentOutcome) ([]audit.Record, error) {
	have := map[[2]string]string{} // key, purpose -> event_id
	var stale [][3]string          // key, purpose, event_id of keys no longer resolved
	rows, err := conn.QueryContext(ctx, `select s.contact_key, s.purpose, s.event_id,
		    s.contact_key in (select contact_key from int_identifiers_resolved)
		from consent_state s`)
	if err != nil {
		return nil, fmt.Errorf("reading consent_state: %w", err)
	}
	for rows.Next() {
		var key, purpose, ev string
		var current bool
		if err := rows.Scan(&key, &purpose, &ev, &current); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading consent_state: %w", err)
		}
		if current {
			have[[2]string{key, purpose}] = ev
		} else {
			stale = append(stale, [3]string{key, purpose, ev})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading consent_state: %w", err)
	}
	// Where each decision went: a stale key's decision is now its person's.
	keyOfEvent := map[string]string{}
	for key, p := range people {
		for _, d := range p.decisions {
			keyOfEvent[d.eventID] = key
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var recs []audit.Record
	var gone consentRows
	for _, s := range stale {
		to, ok := keyOfEvent[s[2]]
		if !ok {
			continue // nothing says whose it is now; kept as it was
		}
		gone.keys, gone.purposes = append(gone.keys, s[0]), append(gone.purposes, s[1])
		recs = append(recs, audit.Record{Kind: audit.KindConsentChange, Actor: "governance", Subject: s[0],
			Detail: map[string]any{"change": "rekeyed", "purpose": s[1], "event_id": s[2], "contact_key": to}})
	}
	if err := gone.delete(ctx, tx); err != nil {
		return nil, fmt.Errorf("re-keying consent_state: %w", err)
	}
	var put consentRows
	for _, key := range sortedKeys(outcomes) {
		o := outcomes[key]
		latest := map[string]consentDecision{}
		for _, d := range people[key].decisions {
			if cur, ok := latest[d.purpose]; !ok || d.after(cur) {
				latest[d.purpose] = d
			}
		}
		for _, purpose := range sortedKeys(o.inForce) {
			d := o.inForce[purpose]
			if have[[2]string{key, purpose}] == d.eventID {
				continue
			}
			put.add(key, purpose, d)
			detail := map[string]any{"purpose": purpose, "granted": d.granted, "event_id": d.eventID}
			if latest[purpose].eventID != d.eventID {
				// Not the latest decision: a merge kept the most restrictive.
				detail["change"] = "merged_most_restrictive"
				detail["latest_event_id"] = latest[purpose].eventID
			}
			recs = append(recs, audit.Record{Kind: audit.KindConsentChange, Actor: "governance", Subject: key, Detail: detail})
		}
	}
	if err := put.write(ctx, tx); err != nil {
		return nil, fmt.Errorf("writing consent_state: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("writing consent_state: %w", err)
	}
	return recs, nil
}

// consentRows are consent_state rows written, or keys deleted, a chunk per
// statement. One statement per row made the first enforcement after a
// backfill (tens of thousands of decisions) take minutes, under
// Warehouse.Exclusive, so that ingest stood still behind it, and ran
// DuckDB out of memory (`demo --once --events 1000000`).
//
// A decision's basis and source are not copied here: they are free text,
// sealed in the deciding event's content (privacy.Content), their one
// home; the columns stay null (docs/governance.md).
type consentRows struct {
	keys, purposes, granted, at, eventIDs []string
}

// consentChunk is the rows per statement: a few MB of parameters.
const consentChunk = 10000

func (r *consentRows) add(key, purpose string, d consentDecision) {
	r.keys, r.purposes = append(r.keys, key), append(r.purposes, purpose)
	r.granted = append(r.granted, strconv.FormatBool(d.granted))
	r.at = append(r.at, d.at.UTC().Format(time.RFC3339Nano))
	r.eventIDs = append(r.eventIDs, d.eventID)
}

// write inserts or replaces the rows (keys and purposes are distinct pairs).
func (r *consentRows) write(ctx context.Context, tx *sql.Tx) error {
	for i := 0; i < len(r.keys); i += consentChunk {
		j := min(i+consentChunk, len(r.keys))
		if _, err := tx.ExecContext(ctx, `insert or replace into consent_state
			select contact_key, purpose, granted::boolean, null, null,
			       decided_at::timestamptz, event_id, null
			from (select unnest(?::varchar[]) as contact_key, unnest(?::varchar[]) as purpose,
			             unnest(?::varchar[]) as granted, unnest(?::varchar[]) as decided_at,
			             unnest(?::varchar[]) as event_id)`,
			r.keys[i:j], r.purposes[i:j], r.granted[i:j], r.at[i:j], r.eventIDs[i:j]); err != nil {
			return err
		}
	}
	return nil
}

// delete deletes the rows of the keys and purposes.
func (r *consentRows) delete(ctx context.Context, tx *sql.Tx) error {
	for i := 0; i < len(r.keys); i += consentChunk {
		j := min(i+consentChunk, len(r.keys))
		if _, err := tx.ExecContext(ctx, `delete from consent_state using
			(select unnest(?::varchar[]) as k, unnest(?::varchar[]) as p) d
			where consent_state.contact_key = d.k and consent_state.purpose = d.p`, r.keys[i:j], r.purposes[i:j]); err != nil {
			return err
		}
	}
	return nil
}

// applyConsentRules brings the analytics pseudonymize rules of every
// identifier of the people with a withdrawal in their history to the
// replay's outcome. A rule only widens here, or is lifted by a grant: an
// identifier newly covered, or covered for longer, is enforced (ingest
// first, then keys, then rows); a rule in force whose person granted again
// gets the grant as its end, and each lifted rule is an audit record.
func (g *Governance) applyConsentRules(ctx context.Context, conn *sql.Conn, outcomes map[string]consentOutcome, rep *ConsentReport) ([]audit.Record, error) {
	var keys, untils, refs []string
	for _, key := range sortedKeys(outcomes) {
		o := outcomes[key]
		if !o.pseudonymize {
			continue
		}
		u := ""
		if !o.until.IsZero() {
			u = o.until.UTC().Format(time.RFC3339Nano)
		}
		keys, untils, refs = append(keys, key), append(untils, u), append(refs, o.ref)
	}
	if _, err := conn.ExecContext(ctx, `create or replace temp table _consent_rules as
		select r.identifier_hash, r.contact_key, w.until, w.ref,
		       x.identifier_hash is not null as had, x.pseudonymize_until as had_until
		from (select unnest(?::varchar[]) as contact_key, nullif(unnest(?::varchar[]), '')::timestamptz as until,
		             unnest(?::varchar[]) as ref) w
		join int_identifiers_resolved r on r.contact_key = w.contact_key
		left join identifier_rules x on x.identifier_hash = r.identifier_hash and x.rule = 'pseudonymize'`,
		keys, untils, refs); err != nil {
		return nil, fmt.Errorf("comparing consent rules: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `select identifier_hash, contact_key, until, ref, had, had_until from _consent_rules
		order by contact_key, identifier_hash`)
	if err != nil {
		return nil, fmt.Errorf("comparing consent rules: %w", err)
	}
	var widen, lift []warehouse.IdentifierRule
	liftKey := map[string]string{}
	people, lifted := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var h, key, ref string
		var until, hadUntil sql.NullTime
		var had bool
		if err := rows.Scan(&h, &key, &until, &ref, &had, &hadUntil); err != nil {
			rows.Close()
			return nil, fmt.Errorf("comparing consent rules: %w", err)
		}
		r := warehouse.IdentifierRule{Hash: h, Rule: warehouse.RulePseudonymize, Reason: "consent_withdrawn", Ref: ref, Until: until.Time}
		switch {
		case !had, hadUntil.Valid && (!until.Valid || until.Time.After(hadUntil.Time)):
			widen = append(widen, r)
			people[key] = true
		case !hadUntil.Valid && until.Valid:
			lift = append(lift, r)
			liftKey[h] = key
			lifted[key] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("comparing consent rules: %w", err)
	}
	var recs []audit.Record
	if len(widen) > 0 {
		if err := g.widenConsentRules(ctx, conn, widen, rep); err != nil {
			return nil, err
		}
		rep.Withdrawn = len(people)
	}
	if len(lift) > 0 {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer tx.Rollback()
		if err := warehouse.AddRules(ctx, tx, lift, g.now()); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `update consent_state set enforced_at = ? where purpose = ?
			and contact_key in (select unnest(?::varchar[]))`, g.now().UTC(), PurposeAnalytics, keysOf(lifted)); err != nil {
			return nil, fmt.Errorf("recording consent enforcement: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("committing consent enforcement: %w", err)
		}
		g.wh.ApplyRules(lift)
		for _, r := range lift {
			recs = append(recs, audit.Record{Kind: audit.KindConsentChange, Actor: "governance", Subject: liftKey[r.Hash],
				Detail: map[string]any{"change": "rule_lifted", "rule": r.Rule, "identifier_hash": r.Hash,
					"event_id": r.Ref, "covers_before": r.Until.UTC().Format(time.RFC3339Nano)}})
		}
		rep.Regranted = len(lifted)
	}
	return recs, nil
}

// widenConsentRules enforces rules that cover more than before: ingest
// first (nothing is in flight: Exclusive), then the keys, then the rows, so
// that whatever happens next, nothing readable of theirs is written. The
// data keys go whatever the window (fail closed: content sealed after the
// window under the same key becomes unreadable too); the content of events
// inside the window is dropped, and while the withdrawal is in force the
// identifier values are deleted.
//
// Dead letters are not decoded, so they are found by the identifier
// values, read before their keys go: every stored dead letter that
// mentions one (deadLettersMentioning, as erasure finds them) is keyed out
// (its key destroyed, its raw bytes and Kafka key deleted; its
// coordinates, reason and size stay). While the withdrawal is in force,
// the values' mention hashes get the pseudonymize rule too, so that ingest
// keys out a dead letter that mentions them on arrival. A later grant does
// not lift those (they name no identifier the identity model knows): dead
// letters stay keyed out, failing closed.
func (g *Governance) widenConsentRules(ctx context.Context, conn *sql.Conn, rules []warehouse.IdentifierRule, rep *ConsentReport) error {
	ids := make([]privacy.KeyID, len(rules))
	var hashes, inForce []string
	ref := map[string]string{}
	for i, r := range rules {
		ids[i] = privacy.SubjectID(r.Hash)
		hashes = append(hashes, r.Hash)
		if r.Until.IsZero() {
			inForce = append(inForce, r.Hash)
			ref[r.Hash] = r.Ref
		}
	}
	values, err := g.identifierValues(ctx, conn, hashes)
	if err != nil {
		return err
	}
	dls, err := g.deadLettersMentioning(ctx, conn, values)
	if err != nil {
		return err
	}
	var mentions []warehouse.IdentifierRule
	if h := g.wh.Hasher(); h != nil {
		for _, hh := range inForce {
			v, ok := values[hh]
			if !ok {
				continue
			}
			for _, m := range mentionForms(v) {
				mentions = append(mentions, warehouse.IdentifierRule{Hash: warehouse.MentionHash(h, m),
					Rule: warehouse.RulePseudonymize, Reason: "consent_withdrawn", Ref: ref[hh]})
			}
		}
	}
	g.wh.ApplyRules(append(slices.Clone(rules), mentions...))
	for _, d := range dls {
		ids = append(ids, privacy.DeadLetterID(d.topic, d.partition, d.offset))
	}
	n, err := g.wh.Keys().Destroy(ids)
	if err != nil {
		return &StepError{Step: "destroying the data keys of withdrawn consent", Err: err}
	}
	rep.Keys, rep.Identifiers, rep.DeadLetters = n, len(hashes), len(dls)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := warehouse.AddRules(ctx, tx, append(slices.Clone(rules), mentions...), g.now()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `delete from identifiers where identifier_hash in (select unnest(?::varchar[]))`, inForce); err != nil {
		return fmt.Errorf("deleting withdrawn identifiers: %w", err)
	}
	for _, d := range dls {
		if _, err := tx.ExecContext(ctx, `update dead_letters set raw = null, message_key = null
			where topic = ? and "partition" = ? and "offset" = ?`, d.topic, d.partition, d.offset); err != nil {
			return fmt.Errorf("keying out the dead letters of withdrawn consent: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, `update events set content = null
		where content is not null and subject_hash in (select identifier_hash from _consent_rules where identifier_hash in (select unnest(?::varchar[])))
		  and occurred_at < coalesce((select until from _consent_rules c where c.identifier_hash = events.subject_hash), 'infinity'::timestamptz)`, hashes)
	if err != nil {
		return fmt.Errorf("redacting withdrawn content: %w", err)
	}
	rep.Redacted, _ = res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `update consent_state set enforced_at = ?
		where purpose = ? and contact_key in (select contact_key from _consent_rules where identifier_hash in (select unnest(?::varchar[])))`,
		g.now().UTC(), PurposeAnalytics, hashes); err != nil {
		return fmt.Errorf("recording consent enforcement: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing consent enforcement: %w", err)
	}
	g.wh.ForgetIdentifiers(inForce)
	return nil
}

// newConsentEvents returns an audit record for each consent event ingested
// since the last enforcement (whether it is the decision in force or not),
// and the last batch it covered. An event one of done already names (the
// consent_state change it made) gets no second record.
func newConsentEvents(ctx context.Context, conn *sql.Conn, outcomes map[string]consentOutcome, done []audit.Record) ([]audit.Record, int64, error) {
	named := map[any]bool{}
	for _, r := range done {
		if r.Detail["change"] == nil {
			named[r.Detail["event_id"]] = true
		}
	}
	var from, to int64
	if err := conn.QueryRowContext(ctx, `select coalesce((select value::bigint from warehouse_meta where name = ?), -1),
		coalesce((select max(batch_id) from events), -1)`, metaConsentAudited).Scan(&from, &to); err != nil {
		return nil, 0, fmt.Errorf("reading the audited consent events: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `select coalesce(r.contact_key, ''), e.event_id, e.consent_purpose, e.consent_granted, e.occurred_at
		from events e left join int_identifiers_resolved r on r.identifier_hash = e.subject_hash
		where e.type = 'consent' and e.batch_id > ? and e.batch_id <= ?
		order by e.occurred_at, e.event_id`, from, to)
	if err != nil {
		return nil, 0, fmt.Errorf("reading new consent events: %w", err)
	}
	defer rows.Close()
	var recs []audit.Record
	for rows.Next() {
		var key, ev string
		var purpose sql.NullString
		var granted sql.NullBool
		var at time.Time
		if err := rows.Scan(&key, &ev, &purpose, &granted, &at); err != nil {
			return nil, 0, fmt.Errorf("reading new consent events: %w", err)
		}
		if named[ev] {
			continue
		}
		detail := map[string]any{"change": "consent_event", "event_id": ev, "occurred_at": at.UTC().Format(time.RFC3339Nano)}
		if purpose.Valid && granted.Valid {
			detail["purpose"], detail["granted"] = purpose.String, granted.Bool
			detail["in_force"] = outcomes[key].inForce[purpose.String].eventID == ev
		} else {
			detail["invalid"] = true // no purpose or decision: nothing to enforce
		}
		recs = append(recs, audit.Record{Kind: audit.KindConsentChange, Actor: "governance", Subject: key, Detail: detail})
	}
	return recs, to, rows.Err()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
