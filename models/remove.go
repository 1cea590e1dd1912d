package models

import (
	"context"
	"database/sql"
	"fmt"
)

// Removal says what a RemoveFunc deleted from the events table.
type Removal struct {
	// Events is how many events were deleted.
	Events int64
	// Conversations are the conversations that had a deleted event.
	Conversations []string
	// Identifiers are the identifier hashes that no event names any more
	// (a whole person erased): their rows leave int_identifiers_resolved,
	// and their people are recomputed.
	Identifiers []string
}

// RemoveFunc deletes events (and anything else it must) on conn, inside
// the transaction of the model build that follows, and reports what it
// deleted. It must not commit or roll back.
type RemoveFunc func(ctx context.Context, conn *sql.Conn) (Removal, error)

// Remove runs remove and then brings the models up to date in the same
// transaction, recomputing only what the removal (and any batch ingested
// since the last build) can change: the removed conversations, the people
// of the removed identifiers and of those conversations, and their days.
// Readers see the events and the models before or after, never in between.
// This is how erasure keeps its cost to the size of the person: a plain
// Refresh after deleting events rebuilds every model. When the models were
// never built, Remove only runs remove; when the events changed in another
// way behind the last build, it rebuilds fully.
//
// Identity is not re-resolved for people who keep some identifiers: a
// removal must take whole people (every identifier the closure links), as
// erasure does. Retention, which removes old events of people who stay,
// goes through Refresh instead.
func Remove(ctx context.Context, db *sql.DB, cfg Config, remove RemoveFunc) (Stats, error) {
	return buildWith(ctx, db, cfg, false, remove)
}

// seedRemovalScopes adds the removal's conversations and people to the
// scopes of an incremental build, and drops the removed identifiers.
func (b *build) seedRemovalScopes(ctx context.Context) error {
	r := b.removal
	if r == nil {
		return nil
	}
	for _, c := range r.Conversations {
		if err := b.exec(ctx, "insert into _scope_conversations values (?)", c); err != nil {
			return fmt.Errorf("scoping removed conversations: %w", err)
		}
	}
	if len(r.Identifiers) == 0 {
		return nil
	}
	if err := b.exec(ctx, "create or replace temp table _removed_identifiers (identifier_hash varchar)"); err != nil {
		return fmt.Errorf("scoping removed identifiers: %w", err)
	}
	for _, h := range r.Identifiers {
		if err := b.exec(ctx, "insert into _removed_identifiers values (?)", h); err != nil {
			return fmt.Errorf("scoping removed identifiers: %w", err)
		}
	}
	for _, q := range []string{
		`insert into _scope_contacts
		 select distinct contact_key from int_identifiers_resolved
		 where identifier_hash in (select identifier_hash from _removed_identifiers)`,
		`delete from int_identifiers_resolved
		 where identifier_hash in (select identifier_hash from _removed_identifiers)`,
	} {
		if err := b.exec(ctx, q); err != nil {
			return fmt.Errorf("removing identifiers from the identity model: %w", err)
		}
	}
	return nil
}
