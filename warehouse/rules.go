package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/cxlake/cxlake/event"
)

// The gate applies governance to the write path: which events are stored,
// stored without personal data, or dropped. Governance decides the rules
// (identifier_rules, retention); the gate only enforces them, per event,
// before anything is sealed or written.

// Rules ingest enforces for an identifier hash.
const (
	// RuleSuppress drops events naming the identifier and dead letters
	// mentioning it: the person was erased, and a replay or a late event
	// must not bring them back.
	RuleSuppress = "suppress"
	// RulePseudonymize stores events naming the identifier without
	// personal data (no content, no identifier values): the person
	// withdrew consent to analytics. It covers the events that occurred
	// before its Until (every event while Until is zero): consent is judged
	// by event time, not arrival time. On a mention hash (MentionHash) in
	// force, it stores dead letters mentioning the person keyed out: their
	// coordinates, reason and size, no raw bytes and no Kafka key.
	RulePseudonymize = "pseudonymize"
)

// verdict is what the gate decided for one event.
type verdict uint8

const (
	vStore        verdict = iota // everything
	vNoContent                   // identifiers and facts, no content: past the message-text retention
	vPseudonymize                // facts and hashes only: consent withdrawn
	vSuppress                    // dropped: names an erased identifier
	vExpire                      // dropped: older than the raw-events retention
)

type ruleGate struct {
	mu           sync.RWMutex
	suppress     map[string]struct{}
	pseudonymize map[string]time.Time // identifier hash -> until (zero: every event)
	raw, text    time.Duration        // retention; 0 keeps forever
}

func (g *ruleGate) verdict(e *event.Event, h *identifierHashes, now time.Time) verdict {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if len(g.suppress) > 0 || len(g.pseudonymize) > 0 {
		v := vStore
		for _, id := range h.all {
			if _, ok := g.suppress[id.Hash]; ok {
				return vSuppress
			}
			if until, ok := g.pseudonymize[id.Hash]; ok && (until.IsZero() || e.OccurredAt.Before(until)) {
				v = vPseudonymize
			}
		}
		if v != vStore {
			return v
		}
	}
	if g.raw > 0 && e.OccurredAt.Before(RetentionCutoff(now, g.raw)) {
		return vExpire
	}
	if g.text > 0 && e.OccurredAt.Before(RetentionCutoff(now, g.text)) {
		return vNoContent
	}
	return vStore
}

// RetentionCutoff is the one cutoff of a retention policy, for the ingest
// gate and for the retention run alike: the start of the UTC day before
// which data goes. A day's data leaves once the whole day is older than the
// policy, so the gate never drops what the run would keep, and a
// conversation is never cut inside a day.
func RetentionCutoff(asOf time.Time, policy time.Duration) time.Time {
	return asOf.UTC().Add(-policy).Truncate(24 * time.Hour)
}

// suppressedMention reports whether any of hashes (mention hashes of a
// dead letter's bytes) is suppressed.
func (g *ruleGate) suppressedMention(hashes []string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, h := range hashes {
		if _, ok := g.suppress[h]; ok {
			return true
		}
	}
	return false
}

// withdrawnMention reports whether any of hashes (mention hashes of a dead
// letter's bytes) has a pseudonymize rule in force. A dead letter has no
// event time, so a rule lifted by a later grant does not cover it.
func (g *ruleGate) withdrawnMention(hashes []string) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	for _, h := range hashes {
		if until, ok := g.pseudonymize[h]; ok && until.IsZero() {
			return true
		}
	}
	return false
}

func (g *ruleGate) hasPseudonymizations() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.pseudonymize) > 0
}

func (g *ruleGate) hasSuppressions() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.suppress) > 0
}

func (w *Warehouse) loadRules(ctx context.Context) error {
	w.rules.suppress, w.rules.pseudonymize = map[string]struct{}{}, map[string]time.Time{}
	rows, err := w.DB.QueryContext(ctx, `select identifier_hash, rule, pseudonymize_until from identifier_rules`)
	if err != nil {
		return fmt.Errorf("loading identifier rules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, rule string
		var until sql.NullTime
		if err := rows.Scan(&h, &rule, &until); err != nil {
			return fmt.Errorf("loading identifier rules: %w", err)
		}
		w.rules.add(IdentifierRule{Hash: h, Rule: rule, Until: until.Time})
	}
	return rows.Err()
}

func (g *ruleGate) add(r IdentifierRule) {
	switch r.Rule {
	case RuleSuppress:
		g.suppress[r.Hash] = struct{}{}
	case RulePseudonymize:
		g.pseudonymize[r.Hash] = r.Until
	}
}

// Execer is a *sql.Tx, *sql.Conn or *sql.DB.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// IdentifierRule is one row of identifier_rules.
type IdentifierRule struct {
	Hash   string // identifier hash, or mention hash (MentionHashes)
	Rule   string // RuleSuppress or RulePseudonymize
	Reason string // erasure, consent_withdrawn
	Ref    string // the privacy request or consent event behind it
	// Until (RulePseudonymize only) is the occurred_at of the grant that
	// lifted the withdrawal: events that occurred before it are covered.
	// Zero while the withdrawal is in force: every event is covered.
	Until time.Time
}

// AddRules records rules in identifier_rules in tx; call ApplyRules after
// the commit (or before it, to be safe against a batch slipping in between).
// Adding an existing suppression changes nothing; adding an existing
// pseudonymization sets its Until and Ref (the caller decides the window).
func AddRules(ctx context.Context, tx Execer, rules []IdentifierRule, at time.Time) error {
	for _, r := range rules {
		var q string
		var until any
		switch r.Rule {
		case RuleSuppress:
			q = `insert or ignore into identifier_rules (identifier_hash, rule, reason, ref, added_at) values (?, ?, ?, ?, ?)`
		case RulePseudonymize:
			q = `insert into identifier_rules (identifier_hash, rule, reason, ref, added_at, pseudonymize_until) values (?, ?, ?, ?, ?, ?)
				on conflict (identifier_hash, rule) do update set ref = excluded.ref, pseudonymize_until = excluded.pseudonymize_until`
			if !r.Until.IsZero() {
				until = r.Until.UTC()
			}
		default:
			return fmt.Errorf("unknown identifier rule %q", r.Rule)
		}
		args := []any{r.Hash, r.Rule, r.Reason, r.Ref, at.UTC()}
		if r.Rule == RulePseudonymize {
			args = append(args, until)
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("recording identifier rules: %w", err)
		}
	}
	return nil
}

// ApplyRules makes ingest enforce rules from now on (they must already be
// committed to identifier_rules, or be about to be).
func (w *Warehouse) ApplyRules(rules []IdentifierRule) {
	w.rules.mu.Lock()
	defer w.rules.mu.Unlock()
	for _, r := range rules {
		w.rules.add(r)
	}
}

// RemoveRules stops enforcing rule for hashes.
func (w *Warehouse) RemoveRules(rule string, hashes []string) {
	w.rules.mu.Lock()
	defer w.rules.mu.Unlock()
	for _, h := range hashes {
		switch rule {
		case RuleSuppress:
			delete(w.rules.suppress, h)
		case RulePseudonymize:
			delete(w.rules.pseudonymize, h)
		}
	}
}

// SetRetention tells ingest the retention of raw events and of message
// text (0 keeps forever): events older than raw are dropped (counted as
// expired), events older than text are stored without content.
func (w *Warehouse) SetRetention(raw, text time.Duration) {
	w.rules.mu.Lock()
	defer w.rules.mu.Unlock()
	w.rules.raw, w.rules.text = raw, text
}
