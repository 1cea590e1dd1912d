package warehouse

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cxlake/cxlake/privacy"
)

// identifierHashes are the keyed hashes of the identifiers one event names,
// written beside them (migrations/0001_raw_layer.sql, the *_hash columns).
type identifierHashes struct {
	contactPhone, contactEmail, linkPhone, linkEmail string
	contactIDs, linkIDs                              json.RawMessage
	// all lists every identifier the event names, contact first, with its
	// hash: what the governance gate checks and the identifiers table stores.
	all []privacy.Identifier
}

// hashIdentifiers fills ps[i]'s identifier hashes, stored conversation
// id and actor key for recs[i].
func hashIdentifiers(h *privacy.Hasher, recs []Record, ps []personal) {
	var b strings.Builder
	for i := range recs {
		e := &recs[i].Event
		x := &ps[i].identifierHashes
		x.contactPhone, x.contactEmail, x.contactIDs = privacy.HashIdentity(h, &b, e.Contact, &x.all)
		if e.ConversationID != "" {
			ps[i].conversation = h.ConversationID(e.ConversationID)
		}
		ps[i].actorKey = privacy.ActorKeyOf(h, e.Source, e.Actor.Kind, e.Actor.ID)
		if e.Link != nil {
			x.linkPhone, x.linkEmail, x.linkIDs = privacy.HashIdentity(h, &b, *e.Link, &x.all)
		}
	}
}

// KeyMismatchError means the data directory's identifier hashes were made
// with another hash key than the one in hand.
type KeyMismatchError struct{ Dir string }

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("the identifier hashes in %s were made with another hash key: restore that directory's key file (%s, the default key file under the user's config directory, %s's file, or models.hash_key) from a backup; a new key cannot match the stored hashes",
		e.Dir, privacy.KeyFile, privacy.EnvKeyFile)
}

// checkKey records the key's fingerprint on first use and refuses a
// different key afterwards.
func (w *Warehouse) checkKey(ctx context.Context) error {
	check := privacy.NewHasher(w.hashKey).KeyCheck()
	if _, err := w.DB.ExecContext(ctx, `insert or ignore into warehouse_meta values ('hash_key_check', ?)`, check); err != nil {
		return fmt.Errorf("recording the hash key check: %w", err)
	}
	var stored string
	if err := w.DB.QueryRowContext(ctx, `select value from warehouse_meta where name = 'hash_key_check'`).Scan(&stored); err != nil {
		return fmt.Errorf("reading the hash key check: %w", err)
	}
	if stored != check {
		return &KeyMismatchError{Dir: w.Dir}
	}
	return nil
}

// HashKey is the key of the warehouse's identifier hashes; the models use
// it for contact keys.
func (w *Warehouse) HashKey() []byte { return w.hashKey }

// initKey loads the hash key (unless given), checks it against the one the
// stored hashes were made with, and checks that the events table has the
// hash columns (data directories made before them must be reloaded).
func (w *Warehouse) initKey(ctx context.Context) error {
	if len(w.hashKey) == 0 {
		// A key kept elsewhere (privacy.FindKey), else the demo's, in
		// the data directory, made on first use.
		key, _, err := privacy.FindKey(w.Dir)
		if err == nil && key == nil {
			key, err = privacy.LoadOrCreateKey(w.Dir)
		}
		if err != nil {
			return err
		}
		w.hashKey = key
	}
	if len(w.hashKey) < privacy.MinKeyBytes {
		return fmt.Errorf("the hash key is %d bytes: give at least %d", len(w.hashKey), privacy.MinKeyBytes)
	}
	var n int
	if err := w.DB.QueryRowContext(ctx, `select count(*) from duckdb_columns() where table_name = 'events' and column_name = 'contact_phone_hash'`).Scan(&n); err != nil {
		return fmt.Errorf("checking the events table: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("the events table in %s predates identifier hashes: move the directory aside and reload it (cxlake load, or replay the topic)", w.Dir)
	}
	key := w.hashKey
	w.hashers = privacy.NewHasherPool(key)
	return w.checkKey(ctx)
}
