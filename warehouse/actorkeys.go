package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/privacy"
)

// Actor keys: the one-time keying of the events a data directory stored
// before schema version 7 (migrations/0007_events_actor_key.sql added
// events.actor_key, which ingest writes since). Such an event's actor id
// is only in its sealed content, so the step is Go, not SQL: Open, after
// the migrations and the other upgrade steps, opens the content of each
// agent's or bot's event whose actor_key is null and writes the key of the
// id it holds (actorKey, the same function as ingest). Events whose content
// is gone (retention of message_text, erasure, consent withdrawal) or whose
// keys are destroyed keep a null key: their agent can no longer be told,
// and the per-agent figures count them for no agent.
//
// It works through the events in chunks of whole ingest batches, about
// actorKeyChunk events each, in batch order (a range of batch_id prunes by
// zone map); each chunk is committed with its last batch id
// (warehouse_meta metaActorKeysCursor), so a kill is resumed by the next
// Open, and a chunk done twice writes the same keys. When the last chunk is
// done the step is recorded (metaActorKeysDone) and never runs again. A
// chunk that writes a key clears models_state, so the models are rebuilt
// in full, with the keys, at their next refresh. The lake's files do not
// carry actor_key (LakeColumns), so they are left as they are.

const (
	metaActorKeysDone   = "actor_keys_done"
	metaActorKeysCursor = "actor_keys_cursor"
	actorKeyChunk       = 5000
	// actorKeyRowsPerInsert: keys are staged in multi-row statements (one
	// statement per row costs DuckDB a statement each; see aliases.go).
	actorKeyRowsPerInsert = 1000
)

// actorKeyed is one event's new actor key.
type actorKeyed struct{ eventID, key string }

// keyActors runs the step when the directory has not had it.
func (w *Warehouse) keyActors(ctx context.Context, log *slog.Logger) error {
	var v string
	err := w.DB.QueryRowContext(ctx, `select value from warehouse_meta where name = ?`, metaActorKeysDone).Scan(&v)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading whether actors were keyed: %w", err)
	}
	h := w.Hasher()
	if h == nil {
		return errors.New("keying the actors of events stored by an older cxlake: the hash key is not loaded")
	}
	var cursor int64
	err = w.DB.QueryRowContext(ctx, `select value from warehouse_meta where name = ?`, metaActorKeysCursor).Scan(&v)
	switch {
	case err == nil:
		if cursor, err = strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("reading where the keying of actors stopped: warehouse_meta %s is %q, not a batch id", metaActorKeysCursor, v)
		}
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("reading where the keying of actors stopped: %w", err)
	}
	chunks, err := w.actorKeyChunks(ctx, cursor)
	if err != nil {
		return fmt.Errorf("keying the actors of events stored by an older cxlake: %w", err)
	}
	start := time.Now()
	var keyed, unreadable int
	for _, c := range chunks {
		k, u, err := w.keyActorChunk(ctx, h, c[0], c[1])
		if err != nil {
			return fmt.Errorf("keying the actors of events stored by an older cxlake: %w", err)
		}
		keyed, unreadable = keyed+k, unreadable+u
	}
	for _, q := range []string{`insert or replace into warehouse_meta values ('` + metaActorKeysDone + `', '1')`,
		`delete from warehouse_meta where name = '` + metaActorKeysCursor + `'`} {
		if _, err := w.DB.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("recording that actors were keyed: %w", err)
		}
	}
	if keyed > 0 || unreadable > 0 {
		log.Info("agents and bots of stored events keyed (one-time upgrade)",
			"events", keyed, "unreadable", unreadable, "took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// actorKeyCondition selects the events the step still has to key.
const actorKeyCondition = `actor_kind in ('agent', 'bot') and actor_key is null and content is not null and subject_hash is not null`

// actorKeyChunks returns the batch ranges (after, through] still to key,
// each of whole batches holding about actorKeyChunk such events.
func (w *Warehouse) actorKeyChunks(ctx context.Context, cursor int64) ([][2]int64, error) {
	rows, err := w.DB.QueryContext(ctx, `select batch_id, count(*) from events
		where batch_id > ? and `+actorKeyCondition+` group by batch_id order by batch_id`, cursor)
	if err != nil {
		return nil, fmt.Errorf("counting the events to key: %w", err)
	}
	defer rows.Close()
	var out [][2]int64
	lo, last, n := cursor, cursor, 0
	for rows.Next() {
		var events int
		if err := rows.Scan(&last, &events); err != nil {
			return nil, fmt.Errorf("counting the events to key: %w", err)
		}
		if n += events; n >= actorKeyChunk {
			out = append(out, [2]int64{lo, last})
			lo, n = last, 0
		}
	}
	if n > 0 {
		out = append(out, [2]int64{lo, last})
	}
	return out, rows.Err()
}

// keyActorChunk keys the events of batches (after, through] and records
// through as the cursor, in one transaction. It returns how many events it
// keyed and how many it could not open.
func (w *Warehouse) keyActorChunk(ctx context.Context, h *privacy.Hasher, after, through int64) (keyed, unreadable int, err error) {
	rows, err := w.DB.QueryContext(ctx, `select event_id, subject_hash, occurred_at, content, coalesce(source, ''), actor_kind
		from events where batch_id > ? and batch_id <= ? and `+actorKeyCondition, after, through)
	if err != nil {
		return 0, 0, fmt.Errorf("reading events: %w", err)
	}
	var out []actorKeyed
	for rows.Next() {
		var id, subject, source, kind string
		var at time.Time
		var sealed []byte
		if err := rows.Scan(&id, &subject, &at, &sealed, &source, &kind); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("reading events: %w", err)
		}
		c, err := privacy.OpenContent(w.keys, id, subject, at, sealed)
		switch {
		case errors.Is(err, privacy.ErrUnreadable):
			unreadable++ // its keys are destroyed: its agent can no longer be told
			continue
		case err != nil:
			rows.Close()
			return 0, 0, fmt.Errorf("opening the content of an event: %w", err)
		}
		if k := privacy.ActorKeyOf(h, source, kind, c.ActorID); k != "" {
			out = append(out, actorKeyed{eventID: id, key: k})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading events: %w", err)
	}
	return len(out), unreadable, w.writeActorKeys(ctx, out, through)
}

// writeActorKeys sets the keys and records cursor in one transaction; when
// it sets any, it also asks for a full model rebuild.
func (w *Warehouse) writeActorKeys(ctx context.Context, out []actorKeyed, cursor int64) error {
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `create or replace temp table keyed_actors (event_id varchar, actor_key varchar)`); err != nil {
		return fmt.Errorf("staging actor keys: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists keyed_actors`)
	for rest := out; len(rest) > 0; {
		part := rest[:min(len(rest), actorKeyRowsPerInsert)]
		rest = rest[len(part):]
		args := make([]any, 0, 2*len(part))
		for _, k := range part {
			args = append(args, k.eventID, k.key)
		}
		q := `insert into keyed_actors values ` + strings.Repeat(`(?, ?), `, len(part)-1) + `(?, ?)`
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("staging actor keys: %w", err)
		}
	}
	built, err := relationExists(ctx, conn, "models_state")
	if err != nil {
		return fmt.Errorf("looking for models_state: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("writing actor keys: %w", err)
	}
	defer tx.Rollback()
	if len(out) > 0 {
		if _, err := tx.ExecContext(ctx, `update events set actor_key = k.actor_key
			from keyed_actors as k where events.event_id = k.event_id`); err != nil {
			return fmt.Errorf("writing actor keys: %w", err)
		}
		if built {
			if _, err := tx.ExecContext(ctx, `delete from models_state`); err != nil {
				return fmt.Errorf("asking for a full model rebuild: %w", err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `insert or replace into warehouse_meta values (?, ?)`, metaActorKeysCursor, strconv.FormatInt(cursor, 10)); err != nil {
		return fmt.Errorf("recording where the keying of actors is: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("writing actor keys: %w", err)
	}
	return nil
}
