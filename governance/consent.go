package governance

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/governance/keys"
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
}

// EnforceConsent brings consent_state up to the consent events (the latest
// per person and purpose wins; people as the identity model resolves them)
// and applies analytics decisions:
//
//   - withdrawn: the person's identifiers get the pseudonymize rule, so
//     ingest stores their later events without personal data; their data
//     keys are destroyed, their identifier values deleted and the content of
//     their stored events dropped (earlier data redacted). Rows and hashes
//     stay, so KPI counts are unchanged; the timeline no longer shows them.
//   - granted again later: the rule is lifted for events from then on; what
//     was redacted stays redacted.
//
// Every consent change is appended to the audit log. It needs the models
// (int_identifiers_resolved); without them it does nothing.
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
		changes, err := g.updateConsentState(ctx, conn)
		if err != nil {
			return err
		}
		rep.Changes = len(changes)
		if err := g.applyWithdrawals(ctx, conn, &rep); err != nil {
			return err
		}
		if err := g.applyRegrants(ctx, conn, &rep); err != nil {
			return err
		}
		if len(changes) > 0 {
			if _, err := g.audit.AppendAll(ctx, changes); err != nil {
				return &StepError{Step: "auditing consent changes", Err: err}
			}
		}
		return nil
	})
	return rep, err
}

// updateConsentState upserts the latest decision per person and purpose
// and returns an audit record per change.
func (g *Governance) updateConsentState(ctx context.Context, conn *sql.Conn) ([]audit.Record, error) {
	for _, q := range []string{
		`create or replace temp table _consent_latest as
		 select r.contact_key, e.consent_purpose as purpose, e.consent_granted as granted,
		        e.consent_basis as basis, e.consent_source as source, e.occurred_at as decided_at, e.event_id
		 from events e join int_identifiers_resolved r on r.identifier_hash = e.subject_hash
		 where e.type = 'consent' and e.consent_purpose is not null and e.consent_granted is not null
		 qualify row_number() over (partition by r.contact_key, e.consent_purpose order by e.occurred_at desc, e.event_id desc) = 1`,
		`create or replace temp table _consent_changes as
		 select l.* from _consent_latest l
		 left join consent_state s on s.contact_key = l.contact_key and s.purpose = l.purpose
		 where s.contact_key is null or s.event_id <> l.event_id`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("computing consent state: %w", err)
		}
	}
	rows, err := conn.QueryContext(ctx, `select contact_key, purpose, granted, event_id from _consent_changes order by contact_key, purpose`)
	if err != nil {
		return nil, fmt.Errorf("reading consent changes: %w", err)
	}
	var recs []audit.Record
	for rows.Next() {
		var key, purpose, eventID string
		var granted bool
		if err := rows.Scan(&key, &purpose, &granted, &eventID); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading consent changes: %w", err)
		}
		recs = append(recs, audit.Record{Kind: audit.KindConsentChange, Actor: "governance", Subject: key,
			Detail: map[string]any{"purpose": purpose, "granted": granted, "event_id": eventID}})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, `insert or replace into consent_state
		select contact_key, purpose, granted, basis, source, decided_at, event_id, null from _consent_changes`); err != nil {
		return nil, fmt.Errorf("writing consent_state: %w", err)
	}
	return recs, nil
}

// applyWithdrawals enforces analytics withdrawals on identifiers not yet
// pseudonymized (a new withdrawal, or an identifier linked since).
func (g *Governance) applyWithdrawals(ctx context.Context, conn *sql.Conn, rep *ConsentReport) error {
	if _, err := conn.ExecContext(ctx, `create or replace temp table _withdrawn as
		select distinct r.identifier_hash, r.contact_key, s.event_id
		from consent_state s join int_identifiers_resolved r on r.contact_key = s.contact_key
		where s.purpose = ? and not s.granted
		  and r.identifier_hash not in (select identifier_hash from identifier_rules where rule = 'pseudonymize')`, PurposeAnalytics); err != nil {
		return fmt.Errorf("finding withdrawn identifiers: %w", err)
	}
	rows, err := conn.QueryContext(ctx, `select identifier_hash, contact_key, event_id from _withdrawn`)
	if err != nil {
		return fmt.Errorf("finding withdrawn identifiers: %w", err)
	}
	var rules []warehouse.IdentifierRule
	var hashes []string
	people := map[string]bool{}
	for rows.Next() {
		var h, key, ev string
		if err := rows.Scan(&h, &key, &ev); err != nil {
			rows.Close()
			return fmt.Errorf("finding withdrawn identifiers: %w", err)
		}
		rules = append(rules, warehouse.IdentifierRule{Hash: h, Rule: warehouse.RulePseudonymize, Reason: "consent_withdrawn", Ref: ev})
		hashes = append(hashes, h)
		people[key] = true
	}
	rows.Close()
	if len(rules) == 0 {
		return rows.Err()
	}
	// Ingest first (nothing is in flight: Exclusive), then the keys, then
	// the rows: whatever happens next, nothing readable of theirs is written.
	g.wh.ApplyRules(rules)
	ids := make([]keys.ID, len(hashes))
	for i, h := range hashes {
		ids[i] = keys.SubjectID(h)
	}
	n, err := g.wh.Keys().Destroy(ids)
	if err != nil {
		return &StepError{Step: "destroying the data keys of withdrawn consent", Err: err}
	}
	rep.Keys, rep.Withdrawn, rep.Identifiers = n, len(people), len(hashes)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := warehouse.AddRules(ctx, tx, rules, g.now()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `delete from identifiers where identifier_hash in (select identifier_hash from _withdrawn)`); err != nil {
		return fmt.Errorf("deleting withdrawn identifiers: %w", err)
	}
	res, err := tx.ExecContext(ctx, `update events set content = null
		where content is not null and subject_hash in (select identifier_hash from _withdrawn)`)
	if err != nil {
		return fmt.Errorf("redacting withdrawn content: %w", err)
	}
	rep.Redacted, _ = res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `update consent_state set enforced_at = ?
		where purpose = ? and not granted and contact_key in (select contact_key from _withdrawn)`, g.now().UTC(), PurposeAnalytics); err != nil {
		return fmt.Errorf("recording consent enforcement: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing consent enforcement: %w", err)
	}
	g.wh.ForgetIdentifiers(hashes)
	return nil
}

// applyRegrants lifts the pseudonymize rule of people whose latest
// analytics decision is a grant.
func (g *Governance) applyRegrants(ctx context.Context, conn *sql.Conn, rep *ConsentReport) error {
	rows, err := conn.QueryContext(ctx, `select x.identifier_hash, r.contact_key
		from identifier_rules x
		join int_identifiers_resolved r on r.identifier_hash = x.identifier_hash
		join consent_state s on s.contact_key = r.contact_key and s.purpose = ?
		where x.rule = 'pseudonymize' and x.reason = 'consent_withdrawn' and s.granted`, PurposeAnalytics)
	if err != nil {
		return fmt.Errorf("finding re-granted consent: %w", err)
	}
	var hashes []string
	people := map[string]bool{}
	for rows.Next() {
		var h, k string
		if err := rows.Scan(&h, &k); err != nil {
			rows.Close()
			return fmt.Errorf("finding re-granted consent: %w", err)
		}
		hashes = append(hashes, h)
		people[k] = true
	}
	rows.Close()
	if len(hashes) == 0 {
		return rows.Err()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := warehouse.DeleteRules(ctx, tx, warehouse.RulePseudonymize, hashes); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `update consent_state set enforced_at = ? where purpose = ? and granted
		and contact_key in (select unnest(?::varchar[]))`, g.now().UTC(), PurposeAnalytics, keysOf(people)); err != nil {
		return fmt.Errorf("recording consent enforcement: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing consent enforcement: %w", err)
	}
	g.wh.RemoveRules(warehouse.RulePseudonymize, hashes)
	rep.Regranted = len(people)
	return nil
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
