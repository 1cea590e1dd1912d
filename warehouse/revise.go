package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cxlake/cxlake/privacy"
)

// Revisions: edits and deletions of messages already stored. A source
// publishes them as events of their own (Evolution's messages.edited,
// send.message.update and messages.delete; Chatwoot's message_updated of
// a deleted message), which cx.event/v1 has no type for; the decoder turns
// them into Revisions, which change the stored message's sealed content:
//
//   - an edit replaces the message's text with the new one;
//   - a deletion removes its text;
//   - both drop the raw payload kept with the message, which holds the
//     text as first sent.
//
// The message's row stays, with its time, actor and conversation: the KPIs
// keep the timing of the original and the fact that it was sent. The lake
// holds no content column (lake.go), so a revision changes no lake file;
// the models hold no text (compliance reads it from events.content through
// cx_content), so no model changes either.
//
// Each revision is recorded in message_revisions by its id, so a replay
// records and applies nothing twice. They are applied in event time, not
// read order: an edit older than one already applied is superseded, and a
// deletion is final (a later edit is superseded). A revision whose message
// is not stored yet is recorded as pending, without its text (none is ever
// kept outside the message's sealed content); when the message arrives, a
// pending deletion removes its text, and so does a pending edit
// (applied_without_text): the person replaced that text, and the
// replacement was not kept, so the first text is not shown either. A later
// edit puts a text back.
//
// Revisions are recorded and applied right after the batch that read them
// commits, in a transaction of their own, one at a time across writers,
// before Commit returns (so before ingest commits the Kafka offsets). Not in
// the batch transaction itself: overlapping batch transactions
// (ingest.writers) each see the warehouse as it was when they began, so a
// message and its revision written by two of them at once would miss each
// other, and two updating one message would conflict at commit. A crash
// between the two transactions leaves the Kafka offsets uncommitted: the
// batch is read again, its events are duplicates, and its revisions are
// recorded and applied then (a revision recorded but still pending is
// applied with the text read again).

// Revision is an edit or a deletion of a stored message.
type Revision struct {
	// ID identifies the revision across replays and topics:
	// "<event_id>:edit:<unix ms>", "<event_id>:delete".
	ID string
	// EventID is the message revised.
	EventID string
	// Delete: a deletion. Otherwise an edit, whose new text is Text.
	Delete bool
	Text   string
	// At is when the person edited or deleted the message.
	At time.Time
	// The Kafka coordinates it was read at.
	Topic     string
	Partition int
	Offset    int64
}

// Revision states in message_revisions.
const (
	revApplied            = "applied"
	revSuperseded         = "superseded"
	revPending            = "pending"
	revAppliedWithoutText = "applied_without_text"
)

// pendingRevisions are the messages with a pending revision: loaded at
// Open, kept by revise (guarded by Warehouse.mu).
type pendingRevisions map[string]struct{}

func loadPendingRevisions(ctx context.Context, db *sql.DB) (pendingRevisions, error) {
	rows, err := db.QueryContext(ctx, `select distinct event_id from message_revisions where state = ?`, revPending)
	if err != nil {
		return nil, fmt.Errorf("reading pending message revisions: %w", err)
	}
	defer rows.Close()
	p := pendingRevisions{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("reading pending message revisions: %w", err)
		}
		p[id] = struct{}{}
	}
	return p, rows.Err()
}

// noteRevisions keeps what an Append brings to revise after commit: its
// revisions, and its records whose messages have a pending revision.
func (x *Txn) noteRevisions(b *Batch) {
	x.revs = append(x.revs, b.Revisions...)
	w := x.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pendingRevs) == 0 {
		return
	}
	for i := range b.Records {
		if _, ok := w.pendingRevs[b.Records[i].Event.EventID]; ok {
			x.revTargets = append(x.revTargets, b.Records[i].Event.EventID)
		}
	}
}

// revise records revs and applies them, and the pending revisions of the
// messages targets, in one transaction; it returns how many revisions it
// recorded for the first time.
func (w *Warehouse) revise(ctx context.Context, batchID int64, revs []Revision, targets []string) (int, error) {
	if len(revs) == 0 && len(targets) == 0 {
		return 0, nil
	}
	w.gate.RLock()
	defer w.gate.RUnlock()
	w.reviseMu.Lock()
	defer w.reviseMu.Unlock()
	conn, err := w.DB.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("getting a connection to revise messages: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "begin transaction"); err != nil {
		return 0, fmt.Errorf("beginning to revise messages: %w", err)
	}
	rollback := func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "rollback") }

	revs = slices.Clone(revs)
	slices.SortStableFunc(revs, func(a, b Revision) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	texts := map[string]string{}
	set := map[string]struct{}{}
	for _, t := range targets {
		set[t] = struct{}{}
	}
	now := time.Now().UTC()
	recorded := 0
	for _, r := range revs {
		if r.ID == "" || r.EventID == "" || r.At.IsZero() {
			rollback()
			return 0, errors.New("revising messages: a revision without an id, a message or a time (a decoder bug)")
		}
		kind := "edit"
		if r.Delete {
			kind = "delete"
		} else {
			texts[r.ID] = r.Text
		}
		res, err := conn.ExecContext(ctx, `insert or ignore into message_revisions
			(revision_id, event_id, kind, revised_at, state, batch_id, recorded_at) values (?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.EventID, kind, r.At.UTC(), revPending, batchID, now)
		if err != nil {
			rollback()
			return 0, fmt.Errorf("recording a message revision of batch %d: %w", batchID, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			recorded++
		}
		set[r.EventID] = struct{}{}
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pending := make(map[string]bool, len(ids))
	for _, id := range ids {
		p, err := w.reviseOne(ctx, conn, id, texts)
		if err != nil {
			rollback()
			return 0, fmt.Errorf("revising a message of batch %d: %w", batchID, err)
		}
		pending[id] = p
	}
	if _, err := conn.ExecContext(ctx, "commit"); err != nil {
		rollback()
		return 0, fmt.Errorf("committing the message revisions of batch %d: %w", batchID, err)
	}
	w.mu.Lock()
	for id, p := range pending {
		if p {
			w.pendingRevs[id] = struct{}{}
		} else {
			delete(w.pendingRevs, id)
		}
	}
	w.mu.Unlock()
	return recorded, nil
}

// storedRevision is a row of message_revisions.
type storedRevision struct {
	id, kind, state string
	at              time.Time
}

// reviseOne applies the pending revisions of one message, in time order,
// and reports whether some are still pending (the message is not stored).
// texts are the new texts of the edits being recorded, by revision id.
func (w *Warehouse) reviseOne(ctx context.Context, conn *sql.Conn, eventID string, texts map[string]string) (bool, error) {
	rows, err := conn.QueryContext(ctx, `select revision_id, kind, state, revised_at from message_revisions
		where event_id = ? order by revised_at, revision_id`, eventID)
	if err != nil {
		return false, err
	}
	var revs []storedRevision
	for rows.Next() {
		var r storedRevision
		if err := rows.Scan(&r.id, &r.kind, &r.state, &r.at); err != nil {
			rows.Close()
			return false, err
		}
		revs = append(revs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	var subject sql.NullString
	var at time.Time
	var sealed []byte
	err = conn.QueryRowContext(ctx, `select subject_hash, occurred_at, content from events where event_id = ?`, eventID).
		Scan(&subject, &at, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return slices.ContainsFunc(revs, func(r storedRevision) bool { return r.state == revPending }), nil
	}
	if err != nil {
		return false, err
	}

	// What the applied revisions already did.
	deleted := false
	var lastEdit time.Time
	for _, r := range revs {
		if r.state != revApplied && r.state != revAppliedWithoutText {
			continue
		}
		if r.kind == "delete" {
			deleted = true
		} else if r.at.After(lastEdit) {
			lastEdit = r.at
		}
	}
	// The pending ones, in time order.
	changed := false
	text := ""
	for i := range revs {
		r := &revs[i]
		if r.state != revPending {
			continue
		}
		switch {
		case r.kind == "delete":
			deleted, changed, r.state = true, true, revApplied
		case deleted || !lastEdit.IsZero() && !r.at.After(lastEdit):
			r.state = revSuperseded
		default:
			lastEdit, changed = r.at, true
			t, ok := texts[r.id]
			text, r.state = t, revApplied
			if !ok {
				r.state = revAppliedWithoutText
			}
		}
		if _, err := conn.ExecContext(ctx, `update message_revisions set state = ? where revision_id = ?`, r.state, r.id); err != nil {
			return false, err
		}
	}
	if !changed || sealed == nil || !subject.Valid {
		// Nothing to change, or no content left (erased, expired,
		// stored without personal data).
		return false, nil
	}
	if deleted {
		text = ""
	}
	c, err := privacy.OpenContent(w.keys, eventID, subject.String, at, sealed)
	if errors.Is(err, privacy.ErrUnreadable) {
		return false, nil // its keys are destroyed: nothing readable is left
	}
	if err != nil {
		return false, fmt.Errorf("opening the content of a revised message: %w", err)
	}
	c.MessageText, c.Raw = text, nil
	a, err := privacy.ContentAEAD(w.keys, subject.String, at)
	if err != nil {
		return false, err
	}
	var nonces privacy.Nonces
	out, err := privacy.SealContentOf(a, &nonces, eventID, c)
	if err != nil {
		return false, fmt.Errorf("sealing the content of a revised message: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `update events set content = ? where event_id = ?`, out, eventID); err != nil {
		return false, fmt.Errorf("storing the content of a revised message: %w", err)
	}
	return false, nil
}
