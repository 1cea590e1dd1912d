package governance

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cxlake/cxlake/privacy"
)

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Person is one person as governance sees them: every identifier linked,
// transitively, to the one a request named — through the events that name
// several identifiers (a contact with a phone and an email, identity_link),
// through the identity model, and through identifier_aliases (the hash an
// identifier had under an older normalization and its current one,
// warehouse/aliases.go) — as keyed hashes with their kinds.
type Person struct {
	// Kinds maps each identifier hash to its kind (phone, email, id:<channel>).
	Kinds map[string]string
	// ContactKeys are the person's keys in the identity model (usually one;
	// none when the models were not built yet).
	ContactKeys []string
	// Seen marks the hashes some event or the identity model names (the
	// request's own hash may name nothing).
	Seen map[string]bool
}

// Hashes returns the person's identifier hashes, sorted.
func (p Person) Hashes() []string {
	out := make([]string, 0, len(p.Kinds))
	for h := range p.Kinds {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// eventsOfPerson is the filter of events naming any identifier in the
// list parameter (twice: the plain columns, and a regexp over the id maps).
const eventsOfPerson = `(subject_hash in (select unnest(?::varchar[]))
	or contact_phone_hash in (select unnest(?::varchar[])) or contact_email_hash in (select unnest(?::varchar[]))
	or link_phone_hash in (select unnest(?::varchar[])) or link_email_hash in (select unnest(?::varchar[]))
	or (contact_ids_hash is not null and regexp_matches(contact_ids_hash::varchar, ?))
	or (link_ids_hash is not null and regexp_matches(link_ids_hash::varchar, ?)))`

// eventsOfPersonArgs are the arguments of eventsOfPerson for hashes.
func eventsOfPersonArgs(hashes []string) []any {
	re := "(" + strings.Join(hashes, "|") + ")"
	return []any{hashes, hashes, hashes, hashes, hashes, re, re}
}

// resolve finds the person id names. A person no event and no identity
// row names comes back with the request's own hash only (dead letters may
// still mention them).
//
// With the models built, the identity model already holds the closure of
// every built batch, so only the batches ingested since are scanned (their
// batch ids prune the scan); without them, every event is scanned, round
// after round, until no new identifier turns up.
func (g *Governance) resolve(ctx context.Context, q querier, id Identifier) (Person, error) {
	p := Person{Kinds: map[string]string{}, Seen: map[string]bool{}}
	h := privacy.NewHasher(g.wh.HashKey())
	built, hasModels, err := builtBatch(ctx, q)
	if err != nil {
		return p, err
	}
	if id.Kind == KindContactKey {
		if !hasModels {
			return p, ErrUnknownSubject
		}
		if err := g.identitiesOf(ctx, q, []string{id.Value}, &p); err != nil {
			return p, err
		}
		if len(p.Kinds) == 0 {
			return p, ErrUnknownSubject
		}
	} else {
		p.Kinds[id.hash(h)] = id.Kind
	}
	for round := 0; ; round++ {
		before := len(p.Kinds)
		if hasModels {
			keys, err := g.contactKeysOf(ctx, q, p.Hashes())
			if err != nil {
				return p, err
			}
			if err := g.identitiesOf(ctx, q, keys, &p); err != nil {
				return p, err
			}
			p.ContactKeys = keys
		}
		if err := g.linkedInEvents(ctx, q, &p, built); err != nil {
			return p, err
		}
		if err := g.linkedByAliases(ctx, q, &p); err != nil {
			return p, err
		}
		if len(p.Kinds) == before || round > 32 {
			return p, nil
		}
	}
}

// builtBatch returns the last batch the identity model was built from.
func builtBatch(ctx context.Context, q querier) (int64, bool, error) {
	for _, t := range []string{"int_identifiers_resolved", "models_state"} {
		ok, err := tableExists(ctx, q, t)
		if err != nil || !ok {
			return 0, false, err
		}
	}
	var b int64
	err := q.QueryRowContext(ctx, `select built_batch_id from models_state where id = 1`).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading models_state: %w", err)
	}
	return b, true, nil
}

// personOnly is the filter of a whole person's events: every identifier an
// event names belongs to the person its subject (primary identifier)
// belongs to, so for a resolved person the subject column decides alone.
const personOnly = `subject_hash in (select unnest(?::varchar[]))`

// linkedInEvents adds the identifiers of every event after batch after
// naming one of p's.
func (g *Governance) linkedInEvents(ctx context.Context, q querier, p *Person, after int64) error {
	rows, err := q.QueryContext(ctx, `select distinct contact_phone_hash, contact_email_hash, contact_ids_hash::varchar,
		link_phone_hash, link_email_hash, link_ids_hash::varchar from events where batch_id > ? and `+eventsOfPerson,
		append([]any{after}, eventsOfPersonArgs(p.Hashes())...)...)
	if err != nil {
		return fmt.Errorf("finding the person's events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cp, ce, ci, lp, le, li sql.NullString
		if err := rows.Scan(&cp, &ce, &ci, &lp, &le, &li); err != nil {
			return fmt.Errorf("finding the person's events: %w", err)
		}
		for _, x := range []struct {
			v    sql.NullString
			kind string
		}{{cp, privacy.KindPhone}, {ce, privacy.KindEmail}, {lp, privacy.KindPhone}, {le, privacy.KindEmail}} {
			if x.v.Valid && x.v.String != "" {
				p.Kinds[x.v.String] = x.kind
				p.Seen[x.v.String] = true
			}
		}
		for _, m := range []sql.NullString{ci, li} {
			ids, err := channelIDHashes(m)
			if err != nil {
				return err
			}
			for ch, hash := range ids {
				p.Kinds[hash] = privacy.KindIDPrefix + ch
				p.Seen[hash] = true
			}
		}
	}
	return rows.Err()
}

// linkedByAliases adds to p the hashes identifier_aliases joins to one of
// its own, both ways: a request that names an identifier in its current
// form also reaches the events stored under the hash it had under an older
// normalization, and one that names an old hash (a contact_key's identity)
// reaches the current one.
func (g *Governance) linkedByAliases(ctx context.Context, q querier, p *Person) error {
	hs := p.Hashes()
	rows, err := q.QueryContext(ctx, `select identifier_hash, identifier_kind from identifier_aliases
		where canonical_hash in (select unnest(?::varchar[]))
		union select canonical_hash, canonical_kind from identifier_aliases
		where identifier_hash in (select unnest(?::varchar[]))`, hs, hs)
	if err != nil {
		return fmt.Errorf("looking up the person's identifier aliases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, k string
		if err := rows.Scan(&h, &k); err != nil {
			return fmt.Errorf("looking up the person's identifier aliases: %w", err)
		}
		if _, ok := p.Kinds[h]; !ok {
			p.Kinds[h] = k
		}
	}
	return rows.Err()
}

func (g *Governance) contactKeysOf(ctx context.Context, q querier, hashes []string) ([]string, error) {
	rows, err := q.QueryContext(ctx, `select distinct contact_key from int_identifiers_resolved
		where identifier_hash in (select unnest(?::varchar[])) order by 1`, hashes)
	if err != nil {
		return nil, fmt.Errorf("looking up the person's contact keys: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("looking up the person's contact keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (g *Governance) identitiesOf(ctx context.Context, q querier, keys []string, p *Person) error {
	if len(keys) == 0 {
		return nil
	}
	rows, err := q.QueryContext(ctx, `select identifier_hash, identifier_kind from int_identifiers_resolved
		where contact_key in (select unnest(?::varchar[]))`, keys)
	if err != nil {
		return fmt.Errorf("looking up the person's identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h, k string
		if err := rows.Scan(&h, &k); err != nil {
			return fmt.Errorf("looking up the person's identifiers: %w", err)
		}
		p.Kinds[h] = k
		p.Seen[h] = true
	}
	return rows.Err()
}

// channelIDHashes reads an events.*_ids_hash column (a map of channel to
// keyed hash, as JSON); null reads as no ids.
func channelIDHashes(m sql.NullString) (map[string]string, error) {
	if !m.Valid {
		return nil, nil
	}
	var ids map[string]string
	if err := json.Unmarshal([]byte(m.String), &ids); err != nil {
		// A JSON string holding the object (some sinks write that).
		var s string
		if json.Unmarshal([]byte(m.String), &s) != nil || json.Unmarshal([]byte(s), &ids) != nil {
			return nil, fmt.Errorf("reading per-channel id hashes: %w", err)
		}
	}
	return ids, nil
}
