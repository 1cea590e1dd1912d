package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// Identifier aliases: the one-time renormalization of a data directory
// whose identifiers were hashed under an older normalization (before
// event/phone.go's Brazilian 9th digit, a phone or e-mail sent as a channel
// id, case-insensitive handles). Such a directory holds, for one person,
// events under the old hash of an identifier and, since the upgrade, events
// under its current hash.
//
// The stored hashes are not rewritten: an event's subject_hash also names
// the data key its content is sealed under, and an identifier's hash the key
// of its sealed value. Instead Open, after the migrations, unseals each
// stored identifier, normalizes it as ingest does today (currentForm) and,
// where the hash differs, writes an identifier_aliases row (old hash and
// kind, current hash and kind). Identity resolution joins the two: the
// models' identity step takes each alias as an edge, and governance's
// resolution expands aliases both ways, so erasure and access export by the
// identifier in either form find the events stored under both.
//
// It works in chunks of aliasChunk identifiers in hash order, each committed
// with its aliases (in multi-row inserts) and its position (warehouse_meta metaAliasCursor), so a
// kill is resumed by the next Open; aliases are insert-or-ignore, so a chunk
// done twice changes nothing. When the last chunk is done the step is
// recorded (metaAliasesDone) and never runs again: ingest only ever stores
// current hashes. A chunk that adds an alias clears models_state, so the
// models are rebuilt in full, with the aliases, at their next refresh.
// Identifiers whose key was destroyed (erasure, consent withdrawal) cannot
// be opened and get no alias; their events went with them.

const (
	metaAliasesDone = "identifier_aliases_done"
	metaAliasCursor = "identifier_aliases_cursor"
	aliasChunk      = 5000
	// aliasRowsPerInsert: aliases go in multi-row statements of up to this
	// many rows. One statement per row cost DuckDB a statement each, and
	// the step a minute and more per 100k identifiers (docs/governance.md
	// has the figures).
	aliasRowsPerInsert = 1000
)

// currentForm returns kind and value (a stored identifier) normalized as
// ingest normalizes them today (event/normalize.go), and false when the
// current rules accept no such identifier (a channel id key that is no
// longer accepted, a value no longer valid): such a value has no current
// hash, and nothing stored today can share it.
func currentForm(kind, value string) (string, string, bool) {
	switch {
	case kind == privacy.KindPhone:
		p, ok := event.NormalizePhone(value)
		return privacy.KindPhone, p, ok
	case kind == privacy.KindEmail:
		e, ok := event.NormalizeEmail(value)
		return privacy.KindEmail, e, ok
	case strings.HasPrefix(kind, privacy.KindIDPrefix):
		ch := strings.TrimPrefix(kind, privacy.KindIDPrefix)
		if !event.KnownIDKey(ch) {
			return "", "", false
		}
		id, phone, email, ok := event.NormalizeID(ch, value)
		switch {
		case !ok:
			return "", "", false
		case phone != "":
			return privacy.KindPhone, phone, true
		case email != "":
			return privacy.KindEmail, email, true
		}
		return kind, id, true
	}
	return "", "", false
}

// alias is one identifier_aliases row.
type alias struct {
	hash, kind, canonicalHash, canonicalKind string
}

// aliasIdentifiers runs the renormalization when the directory has not had it.
func (w *Warehouse) aliasIdentifiers(ctx context.Context, log *slog.Logger) error {
	var v string
	err := w.DB.QueryRowContext(ctx, `select value from warehouse_meta where name = ?`, metaAliasesDone).Scan(&v)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading whether identifiers were renormalized: %w", err)
	}
	h := w.Hasher()
	if h == nil {
		return errors.New("renormalizing identifiers stored by an older cxlake: the hash key is not loaded")
	}
	var cursor string
	err = w.DB.QueryRowContext(ctx, `select value from warehouse_meta where name = ?`, metaAliasCursor).Scan(&cursor)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading where the renormalization of identifiers stopped: %w", err)
	}
	start := time.Now()
	var read, added, unreadable int
	for {
		n, next, as, skipped, err := w.aliasChunk(ctx, h, cursor)
		if err != nil {
			return fmt.Errorf("renormalizing identifiers stored by an older cxlake: %w", err)
		}
		read, added, unreadable = read+n, added+as, unreadable+skipped
		if n < aliasChunk {
			break
		}
		cursor = next
	}
	for _, q := range []string{`insert or replace into warehouse_meta values ('` + metaAliasesDone + `', '1')`,
		`delete from warehouse_meta where name = '` + metaAliasCursor + `'`} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("recording that identifiers were renormalized: %w", err)
		}
	}
	if added > 0 || unreadable > 0 {
		log.Info("identifiers stored under an older normalization joined to their current hashes (one-time upgrade)",
			"identifiers", read, "aliases", added, "unreadable", unreadable, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// aliasChunk renormalizes up to aliasChunk identifiers after cursor, in hash
// order, and commits their aliases with the new cursor. It returns how many
// identifiers it read, the last hash, and how many aliases it wrote and how
// many identifiers it could not open.
func (w *Warehouse) aliasChunk(ctx context.Context, h *privacy.Hasher, cursor string) (n int, last string, added, unreadable int, err error) {
	rows, err := w.DB.QueryContext(ctx, `select identifier_hash, identifier_kind, sealed_value from identifiers
		where identifier_hash > ? order by identifier_hash limit `+fmt.Sprint(aliasChunk), cursor)
	if err != nil {
		return 0, "", 0, 0, fmt.Errorf("reading identifiers: %w", err)
	}
	var out []alias
	for rows.Next() {
		var a alias
		var sealed []byte
		if err := rows.Scan(&a.hash, &a.kind, &sealed); err != nil {
			rows.Close()
			return 0, "", 0, 0, fmt.Errorf("reading identifiers: %w", err)
		}
		n++
		last = a.hash
		value, err := privacy.OpenIdentifier(w.keys, a.hash, sealed)
		if errors.Is(err, privacy.ErrUnreadable) {
			unreadable++
			continue
		}
		if err != nil {
			rows.Close()
			return 0, "", 0, 0, fmt.Errorf("opening a stored identifier: %w", err)
		}
		kind, norm, ok := currentForm(a.kind, value)
		if !ok {
			continue
		}
		if a.canonicalHash = h.Identifier(kind, norm); a.canonicalHash != a.hash {
			a.canonicalKind = kind
			out = append(out, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, "", 0, 0, fmt.Errorf("reading identifiers: %w", err)
	}
	if n == 0 {
		return 0, "", 0, unreadable, nil
	}
	return n, last, len(out), unreadable, w.writeAliases(ctx, out, last)
}

// writeAliases inserts aliases and records cursor in one transaction; when
// it inserts any, it also asks for a full model rebuild.
func (w *Warehouse) writeAliases(ctx context.Context, aliases []alias, cursor string) error {
	tx, err := w.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing identifier aliases: %w", err)
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	for rest := aliases; len(rest) > 0; {
		part := rest[:min(len(rest), aliasRowsPerInsert)]
		rest = rest[len(part):]
		args := make([]any, 0, 5*len(part))
		for _, a := range part {
			args = append(args, a.hash, a.kind, a.canonicalHash, a.canonicalKind, now)
		}
		q := `insert or ignore into identifier_aliases values ` +
			strings.Repeat(`(?, ?, ?, ?, ?), `, len(part)-1) + `(?, ?, ?, ?, ?)`
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("writing identifier aliases: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `insert or replace into warehouse_meta values (?, ?)`, metaAliasCursor, cursor); err != nil {
		return fmt.Errorf("recording where the renormalization of identifiers is: %w", err)
	}
	if len(aliases) > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, `select count(*) from duckdb_tables() where table_name = 'models_state' and not temporary`).Scan(&n); err != nil {
			return fmt.Errorf("looking for models_state: %w", err)
		}
		if n > 0 {
			if _, err := tx.ExecContext(ctx, `delete from models_state`); err != nil {
				return fmt.Errorf("asking for a full model rebuild: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing identifier aliases: %w", err)
	}
	return nil
}
