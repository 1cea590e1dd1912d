package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cxlake/cxlake/privacy"
)

// The one-time upgrade of a data directory written before content layout
// 3 (privacy/content.go): such a directory holds producer free text (actor_id,
// message_intent, handoff_reason, handoff_next_action, handoff_owner;
// before layout 3 also consent_basis and consent_source, and their copies
// in governance's consent_state) in clear columns, and conversation ids as
// producers built them. It is a Go
// step, not a SQL migration, because sealing needs the data keys and
// keying needs the hash key, neither of which is in DuckDB. Open runs it
// after the migrations, once per directory (warehouse_meta holds
// metaFreeTextSealed when it is done; warehouse migration 0006 deletes
// that row, so a directory sealed for layout 2 runs it again for 3):
//
//   - each event with clear free text has it moved into its sealed content
//     (opened, extended and sealed again under the same keys); where the
//     content is gone (retention, erasure, consent withdrawal) or its keys
//     are destroyed, the free text is dropped, since it should never have
//     outlived the content;
//   - consent_state's basis and source are set to null: the deciding
//     event's content is their one home (governance reads them there);
//   - each conversation id that is not opaque is replaced by its keyed
//     form (privacy.ConversationID), so conversations still group;
//   - if any row changed, the models are rebuilt in full at their next
//     refresh (models_state is cleared), and the Parquet lake, whose files
//     hold the old values, is removed and published again from the events
//     table before Open returns (one publication row replaces the old ones);
//     then cxlake.duckdb, whose free blocks still hold the old clear
//     values, is copied into a new file that replaces it (rewriteFile).
//
// It works in chunks of resealChunk events, each committed on its own, and
// picks only rows that still need it, so a kill at any point is finished
// by the next Open. docs/upgrading.md says what it costs.

const (
	metaFreeTextSealed = "free_text_sealed"
	// the step's rows are done, the file is still to be rewritten
	freeTextRewritePending = "rewrite_pending"
	resealChunk            = 5000
)

// resealCondition selects the events the upgrade still has to change.
var resealCondition = `(actor_id is not null or message_intent is not null or handoff_reason is not null
	or handoff_next_action is not null or handoff_owner is not null
	or consent_basis is not null or consent_source is not null
	or (conversation_id is not null and regexp_matches(conversation_id, '` + privacy.ConversationNotOpaqueRE + `')
		and not regexp_full_match(conversation_id, '` + privacy.ConversationKeyedRE + `')))`

// resealFreeText runs the upgrade when the directory has not had it, and
// says whether it changed rows, so that the file must be rewritten.
func (w *Warehouse) resealFreeText(ctx context.Context, log *slog.Logger) (rewrite bool, err error) {
	var done string
	err = w.DB.QueryRowContext(ctx, `select value from warehouse_meta where name = ?`, metaFreeTextSealed).Scan(&done)
	switch {
	case err == nil && done != freeTextRewritePending:
		return false, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("reading whether free text was sealed: %w", err)
	}
	h := w.Hasher()
	if h == nil {
		return false, errors.New("sealing free text stored by an older cxlake: the hash key is not loaded")
	}
	start := time.Now()
	changed := 0
	for {
		n, err := w.resealChunk(ctx, h)
		if err != nil {
			return false, fmt.Errorf("sealing free text stored by an older cxlake: %w", err)
		}
		changed += n
		if n < resealChunk {
			break
		}
	}
	// consent_state (governance's, when it runs) kept a copy of each
	// decision's basis and source; the deciding event's sealed content is
	// their one home now.
	n, err := w.clearConsentTerms(ctx)
	if err != nil {
		return false, fmt.Errorf("sealing free text stored by an older cxlake: %w", err)
	}
	changed += n
	// The lake is published again when rows changed, or when an earlier
	// run was killed after its chunks emptied lake_publications but before
	// the files went (a lake with no publication recorded).
	var published int
	if err := w.DB.QueryRowContext(ctx, `select count(*) from lake_publications`).Scan(&published); err != nil {
		return false, fmt.Errorf("reading the lake's publications: %w", err)
	}
	_, statErr := os.Stat(filepath.Join(w.Dir, LakeDir, "events"))
	if changed > 0 || (published == 0 && statErr == nil) {
		if err := w.republishAll(ctx); err != nil {
			return false, fmt.Errorf("sealing free text stored by an older cxlake: %w", err)
		}
		if _, err := w.Publish(ctx); err != nil {
			return false, fmt.Errorf("publishing the lake again after sealing free text: %w", err)
		}
	}
	if changed == 0 && done != freeTextRewritePending {
		_, err := w.DB.ExecContext(ctx, `insert or replace into warehouse_meta values (?, ?)`, metaFreeTextSealed, "1")
		if err != nil {
			return false, fmt.Errorf("recording that free text is sealed: %w", err)
		}
		return false, nil
	}
	if changed > 0 {
		log.Info("producer free text sealed and conversation ids keyed (one-time upgrade)",
			"events", changed, "took", time.Since(start).Round(time.Millisecond))
	}
	// The old clear values are still in the free blocks of the file: Open
	// rewrites it (rewriteFile), whose copy records the step as done. Until
	// the copy replaces the file, the step stays pending, so a kill is
	// finished by the next Open.
	if _, err := w.DB.ExecContext(ctx, `insert or replace into warehouse_meta values (?, ?)`, metaFreeTextSealed, freeTextRewritePending); err != nil {
		return false, fmt.Errorf("recording that the file is to be rewritten: %w", err)
	}
	return true, nil
}

// clearConsentTerms nulls the clear basis and source of consent_state, if
// the table exists, and returns how many rows it changed.
func (w *Warehouse) clearConsentTerms(ctx context.Context) (int, error) {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if ok, err := relationExists(ctx, conn, "consent_state"); err != nil || !ok {
		return 0, err
	}
	res, err := conn.ExecContext(ctx, `update consent_state set basis = null, source = null
		where basis is not null or source is not null`)
	if err != nil {
		return 0, fmt.Errorf("clearing consent_state's basis and source: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// resealed is one event's new content and conversation id.
type resealed struct {
	eventID, conversation string
	content               []byte
}

// resealChunk changes up to resealChunk events in one transaction and
// returns how many it changed.
func (w *Warehouse) resealChunk(ctx context.Context, h *privacy.Hasher) (int, error) {
	rows, err := w.DB.QueryContext(ctx, `select event_id, subject_hash, occurred_at, content, conversation_id,
		actor_id, message_intent, handoff_reason, handoff_next_action, handoff_owner, consent_basis, consent_source
		from events where `+resealCondition+` limit `+fmt.Sprint(resealChunk))
	if err != nil {
		return 0, fmt.Errorf("reading events: %w", err)
	}
	var out []resealed
	var nonces privacy.Nonces
	for rows.Next() {
		var id string
		var subject, conv, actor, intent, reason, next, owner, basis, source sql.NullString
		var at time.Time
		var sealed []byte
		if err := rows.Scan(&id, &subject, &at, &sealed, &conv, &actor, &intent, &reason, &next, &owner, &basis, &source); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading events: %w", err)
		}
		r := resealed{eventID: id, conversation: conv.String}
		if conv.Valid {
			r.conversation = h.ConversationID(conv.String)
		}
		if sealed != nil && subject.Valid {
			c, err := privacy.OpenContent(w.keys, id, subject.String, at, sealed)
			switch {
			case errors.Is(err, privacy.ErrUnreadable):
				// its keys are destroyed: content and free text both go
			case err != nil:
				rows.Close()
				return 0, fmt.Errorf("opening the content of an event: %w", err)
			default:
				// Only what is still in clear: a layout-2 content already
				// holds the free text whose columns are null.
				for _, f := range []struct {
					to   *string
					from sql.NullString
				}{{&c.ActorID, actor}, {&c.MessageIntent, intent}, {&c.HandoffReason, reason}, {&c.HandoffNextAction, next},
					{&c.HandoffOwner, owner}, {&c.ConsentBasis, basis}, {&c.ConsentSource, source}} {
					if f.from.Valid {
						*f.to = f.from.String
					}
				}
				a, err := privacy.ContentAEAD(w.keys, subject.String, at)
				if err != nil {
					rows.Close()
					return 0, err
				}
				if r.content, err = privacy.SealContentOf(a, &nonces, id, c); err != nil {
					rows.Close()
					return 0, fmt.Errorf("sealing the content of an event: %w", err)
				}
			}
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading events: %w", err)
	}
	if len(out) == 0 {
		return 0, nil
	}
	return len(out), w.applyResealed(ctx, out)
}

// applyResealed writes out in one transaction: the new contents and
// conversation ids, and null in the clear free-text columns.
func (w *Warehouse) applyResealed(ctx context.Context, out []resealed) error {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `create or replace temp table resealed_events
		(event_id varchar, conversation_id varchar, content blob)`); err != nil {
		return fmt.Errorf("staging sealed events: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists resealed_events`)
	stmt, err := conn.PrepareContext(ctx, `insert into resealed_events values (?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("staging sealed events: %w", err)
	}
	for _, r := range out {
		var c any
		if r.content != nil {
			c = r.content
		}
		if _, err := stmt.ExecContext(ctx, r.eventID, str(r.conversation), c); err != nil {
			stmt.Close()
			return fmt.Errorf("staging sealed events: %w", err)
		}
	}
	stmt.Close()
	if _, err := conn.ExecContext(ctx, "begin transaction"); err != nil {
		return err
	}
	for _, q := range []string{
		`update events set content = r.content, conversation_id = r.conversation_id,
			actor_id = null, message_intent = null, handoff_reason = null, handoff_next_action = null, handoff_owner = null,
			consent_basis = null, consent_source = null
			from resealed_events as r where events.event_id = r.event_id`,
		// The models are rebuilt in full at their next refresh; the lake
		// is published again (republishAll removes its files after this
		// commits).
		`delete from lake_publications`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "rollback")
			return fmt.Errorf("writing sealed events: %w", err)
		}
	}
	if ok, _ := relationExists(ctx, conn, "models_state"); ok {
		if _, err := conn.ExecContext(ctx, `delete from models_state`); err != nil {
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "rollback")
			return fmt.Errorf("asking for a full model rebuild: %w", err)
		}
	}
	if _, err := conn.ExecContext(ctx, "commit"); err != nil {
		return fmt.Errorf("writing sealed events: %w", err)
	}
	return nil
}

// republishAll removes the lake's event files: lake_publications was
// emptied with the changed events, so the next Publish writes every event
// again, from the sealed and keyed rows. A kill before this is done is
// finished by the next Open (the upgrade is not yet recorded as done).
func (w *Warehouse) republishAll(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := w.DB.ExecContext(ctx, `delete from lake_publications`); err != nil {
		return fmt.Errorf("resetting the lake's publications: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(w.Dir, LakeDir, "events")); err != nil {
		return fmt.Errorf("removing the lake's files to publish them again: %w", err)
	}
	// The manifest forgets them too, or it would list files that are gone
	// (lake verify: missing) and compaction would look for their folders.
	err := editLakeManifest(w.Dir, func(files map[string]LakeFile) error {
		for p := range files {
			if strings.HasPrefix(p, "events/") {
				delete(files, p)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing the lake's files from its manifest: %w", err)
	}
	return nil
}

func relationExists(ctx context.Context, conn *sql.Conn, name string) (bool, error) {
	var n int
	err := conn.QueryRowContext(ctx, `select count(*) from duckdb_tables() where table_name = ? and not temporary`, name).Scan(&n)
	return n > 0, err
}
