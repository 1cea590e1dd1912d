package governance

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// ErasureRequest asks to erase a person (GDPR art. 17, LGPD art. 18 VI).
type ErasureRequest struct {
	Identifier Identifier
	Reason     string // kept with the request; say why, never who
	Actor      string // who asked: "cli", "api", a staff name
	// Law is the law the request is made under (LawGDPR or LawLGPD): its
	// deadline applies and the request records it. Empty: governance.law.
	Law string
	// RequestID, when set, is the id the request is recorded under (the
	// HTTP API answers with it before the erasure ends). Empty: a new one.
	RequestID string
	// VerifyBytes adds to the verification a search of every file under the
	// data directory for the person's identifier values and texts. It
	// reads the whole directory (O(store)); the rest of the erasure costs
	// what the person touched.
	VerifyBytes bool
	// IncludeLinked confirms the erasure of every identity linked to the
	// one named through a shared identifier (shared.go). Without it, such
	// a person is refused with a *LinkedPeopleError before anything
	// changes.
	IncludeLinked bool
}

// Erase removes a person from every layer and returns the receipt:
//
//  1. resolve the whole person (every identifier linked to the one named),
//     and plan: their keyed hashes, dead letters and lake partitions. The
//     request (in_progress) and the plan are recorded in one transaction
//     before anything changes;
//  2. add their keyed hashes to the suppression rules, so ingest drops a
//     replay or a late event naming them;
//  3. destroy their data keys (and those of dead letters mentioning them):
//     every sealed copy anywhere is now unreadable. This is the point of
//     no return;
//  4. in one transaction, delete their events, identifiers (and the
//     aliases joining their hashes under an older normalization to the
//     current ones), dead letters and consent state, and update the models
//     for them (models.Remove);
//  5. rewrite the lake files of their partitions that hold their rows;
//  6. checkpoint DuckDB and re-scan every place (every file of their
//     partitions, DuckDB, the dead letters, the key store);
//  7. append the audit record, sign a checkpoint, save the receipt and
//     close the request.
//
// Each step is recorded in the plan when done, and each is idempotent. A
// failing step is retried with back-off (see step); an erasure that stops
// anyway (a kill, ctx ending, a failure outlasting the retries) is not
// failed: it returns a *PendingError and resumes from the next step at the
// next start-up (ResumeErasures) or when the same person's erasure is
// asked again. A re-scan that still finds the person ends the request as
// failed, with a receipt that says where.
//
// An identifier that names nothing held is recorded as a request with
// status no_data and an audit record, and returns an error that
// errors.Is ErrUnknownSubject (an *AlreadyErasedError for a person an
// earlier erasure removed) with the receipt of that request.
func (g *Governance) Erase(ctx context.Context, req ErasureRequest) (Receipt, error) {
	if err := CheckReason(req.Reason); err != nil {
		return Receipt{}, err
	}
	if err := CheckLaw(req.Law); err != nil {
		return Receipt{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	start := time.Now()
	h := privacy.NewHasher(g.wh.HashKey())
	subject := req.Identifier.hash(h)

	// Unfinished erasures first; asking again for one resumes it.
	plans, err := g.unfinishedPlans(ctx)
	if err != nil {
		return Receipt{}, err
	}
	for _, p := range plans {
		rc, err := g.resume(ctx, p)
		if p.covers(subject) {
			return rc, err
		}
		if err != nil {
			if ctx.Err() != nil {
				return Receipt{}, err
			}
			g.log.Error("an unfinished erasure could not be finished; it will be tried again", "request_id", p.RequestID, "err", err)
		}
	}

	var p *erasurePlan
	var values map[string]string
	var needles [][]byte
	err = g.wh.Exclusive(ctx, func(ctx context.Context, db *sql.DB) error {
		var err error
		p, values, needles, err = g.planErasure(ctx, db, req, subject)
		return err
	})
	if errors.Is(err, ErrUnknownSubject) {
		return g.recordNoData(ctx, KindErasure, req.Law, req.Identifier, subject, req.Reason, req.Actor, req.RequestID)
	}
	if err != nil {
		return Receipt{}, err
	}
	p.RunMS = time.Since(start).Milliseconds() // the planning; runPlan adds its own run's time
	p.Receipt.StepsMS["plan"] = time.Since(start).Milliseconds()
	erasureStepHook(stepPlanned)
	return g.runPlan(ctx, p, values, needles)
}

// planErasure resolves the person and records the request and the plan.
func (g *Governance) planErasure(ctx context.Context, db *sql.DB, req ErasureRequest, subject string) (*erasurePlan, map[string]string, [][]byte, error) {
	h := privacy.NewHasher(g.wh.HashKey())
	per, err := g.resolve(ctx, db, req.Identifier)
	if err != nil {
		return nil, nil, nil, err
	}
	hashes := per.Hashes()
	sh, err := sharingOf(ctx, db, hashes)
	if err != nil {
		return nil, nil, nil, err
	}
	var linked *LinkedPeople
	if sh.linked() {
		var part map[string]bool
		if req.Identifier.Kind != KindContactKey {
			part = sh.partOf(subject)
		}
		if !req.IncludeLinked {
			return nil, nil, nil, &LinkedPeopleError{Shared: len(sh.shared), Others: sh.otherParts(part)}
		}
		linked = &LinkedPeople{Shared: len(sh.shared), Others: sh.otherParts(part), Included: true}
	}
	values, err := g.identifierValues(ctx, db, hashes)
	if err != nil {
		return nil, nil, nil, err
	}
	if req.Identifier.Kind != KindContactKey {
		values[subject] = req.Identifier.Value
	}
	dls, err := g.deadLettersMentioning(ctx, db, values)
	if err != nil {
		return nil, nil, nil, err
	}
	evs, err := g.eventsOf(ctx, db, hashes, true)
	if err != nil {
		return nil, nil, nil, err
	}
	before, err := g.countPerson(ctx, db, hashes, per.ContactKeys)
	if err != nil {
		return nil, nil, nil, err
	}
	p := &erasurePlan{Actor: req.Actor, Hashes: hashes, ContactKeys: per.ContactKeys, Whole: true, Step: stepPlanned,
		Partitions: []string{}, LakeFiles: []string{}, DeadLetters: []planDeadLtr{}}
	lake := Lake{Dir: g.wh.Dir, Q: db, Whole: true, Log: g.log}
	var files []string
	if len(evs) > 0 {
		seen := map[string]bool{}
		for _, e := range evs {
			part := filepath.Join("date="+e.day, "channel="+e.channel)
			if !seen[part] {
				seen[part] = true
				p.Partitions = append(p.Partitions, part)
			}
		}
		if files, err = lakeCandidates(ctx, lake, p.Partitions); err != nil {
			return nil, nil, nil, err
		}
	} else {
		// No event left in DuckDB: the lake may still hold their rows (an
		// erasure interrupted before plans were kept, a restore). Search
		// the whole lake, in every identifier column: O(lake), only for a
		// person DuckDB no longer knows.
		lake.Whole, p.Whole = false, false
		all, err := lake.files()
		if err != nil {
			return nil, nil, nil, err
		}
		where, args := filter(hashes, false)
		holding, err := lake.filesHolding(ctx, all, where, args)
		if err != nil {
			return nil, nil, nil, err
		}
		seen := map[string]bool{}
		for _, f := range holding {
			if part := partitionOf(lake, f); !seen[part] {
				seen[part] = true
				p.Partitions = append(p.Partitions, part)
			}
		}
		files = holding
	}
	where, args := filter(hashes, p.Whole)
	holding, err := lake.filesHolding(ctx, files, where, args)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, f := range holding {
		rel, _ := filepath.Rel(g.wh.Dir, f)
		p.LakeFiles = append(p.LakeFiles, rel)
	}
	lakeRows, err := lake.CountIn(ctx, holding, hashes, time.Time{})
	if err != nil {
		return nil, nil, nil, err
	}
	if before.total()+int64(len(dls))+lakeRows == 0 {
		return nil, nil, nil, ErrUnknownSubject
	}
	var needles [][]byte
	if req.VerifyBytes {
		if needles, err = g.personNeedles(ctx, db, hashes, values); err != nil {
			return nil, nil, nil, err
		}
	}
	for _, d := range dls {
		p.DeadLetters = append(p.DeadLetters, planDeadLtr{Topic: d.topic, Partition: d.partition, Offset: d.offset})
	}
	p.Rules = append(p.Rules, hashes...)
	for _, v := range values {
		for _, m := range mentionForms(v) {
			p.Rules = append(p.Rules, warehouse.MentionHash(h, m))
		}
	}
	slices.Sort(p.Rules)
	p.Rules = slices.Compact(p.Rules)
	keysHeld := 0
	for _, id := range p.keyIDs() {
		if _, ok := g.wh.Keys().Get(id); ok {
			keysHeld++
		}
	}

	row := g.newRequest(KindErasure, req.Law, req.Identifier, subject, req.Reason)
	if req.RequestID != "" {
		row.ID = req.RequestID
	}
	p.RequestID = row.ID
	rc := Receipt{RequestID: row.ID, Kind: KindErasure, Status: StatusInProgress, Subject: row.Subject, IdentifierKind: row.IdentifierKind,
		Reason: req.Reason, Identifiers: len(hashes), ContactKeys: per.ContactKeys, ReceivedAt: row.Received,
		DueAt: row.Due, Law: row.Law, RowsRemoved: map[string]int64{"lake": lakeRows}, FilesRewritten: []string{}, FilesRemoved: []string{},
		KeysDestroyed: keysHeld, Suppressed: len(p.Rules), StepsMS: map[string]int64{}, LinkedPeople: linked}
	for k, v := range before.models {
		rc.RowsRemoved[k] = v
	}
	p.Receipt = rc
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("recording the privacy request: %w", err)
	}
	defer tx.Rollback()
	row.Status = StatusInProgress
	if err := g.recordRequest(ctx, tx, row); err != nil {
		return nil, nil, nil, err
	}
	if err := g.insertPlan(ctx, tx, p); err != nil {
		return nil, nil, nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, nil, fmt.Errorf("recording the privacy request: %w", err)
	}
	return p, values, needles, nil
}

// runPlan runs p from the step after the one it reached. values and
// needles (the person's identifier values and texts) are known to the run
// that planned it only: a resumed run verifies by keyed hashes and Kafka
// coordinates, and skips the byte search.
func (g *Governance) runPlan(ctx context.Context, p *erasurePlan, values map[string]string, needles [][]byte) (Receipt, error) {
	start := time.Now()
	rc := &p.Receipt
	if rc.StepsMS == nil {
		rc.StepsMS = map[string]int64{}
	}
	if rc.RowsRemoved == nil {
		rc.RowsRemoved = map[string]int64{}
	}
	last := time.Now()
	lap := func(name string) {
		rc.StepsMS[name] += time.Since(last).Milliseconds()
		last = time.Now()
	}
	stopped := func(err error) (Receipt, error) {
		var pe *PendingError
		if !errors.As(err, &pe) {
			pe = &PendingError{RequestID: p.RequestID, Step: p.Step, Err: err}
		}
		p.RunMS += time.Since(start).Milliseconds()
		g.notePending(ctx, p, pe.Err)
		g.log.Warn("an erasure stopped before it finished; it will resume", "request_id", p.RequestID, "after_step", p.Step, "err", pe.Err)
		return *rc, pe
	}
	err := g.wh.Exclusive(ctx, func(ctx context.Context, db *sql.DB) error {
		if err := g.step(ctx, p, stepSuppressed, func(ctx context.Context) error {
			rules := p.rules()
			g.wh.ApplyRules(rules)
			return warehouse.AddRules(ctx, db, rules, g.now())
		}); err != nil {
			return err
		}
		lap("suppress")
		if err := g.step(ctx, p, stepKeys, func(ctx context.Context) error {
			if _, err := g.wh.Keys().Destroy(p.keyIDs()); err != nil {
				return fmt.Errorf("destroying data keys: %w", err)
			}
			return nil
		}); err != nil {
			return err
		}
		lap("keys")
		if err := g.step(ctx, p, stepDeleted, func(ctx context.Context) error { return g.deleteStep(ctx, db, p) }); err != nil {
			return err
		}
		lap("delete_and_models")
		lake := Lake{Dir: g.wh.Dir, Q: db, Whole: p.Whole, Log: g.log}
		if err := g.step(ctx, p, stepLake, func(ctx context.Context) error {
			files, err := lakeCandidates(ctx, lake, p.Partitions)
			if err != nil {
				return err
			}
			if _, err := lake.EraseIn(ctx, files, p.Hashes); err != nil {
				return fmt.Errorf("rewriting lake files: %w", err)
			}
			rc.FilesRewritten, rc.FilesRemoved = []string{}, []string{}
			for _, f := range p.LakeFiles {
				if _, err := os.Stat(filepath.Join(g.wh.Dir, f)); err == nil {
					rc.FilesRewritten = append(rc.FilesRewritten, f)
				} else {
					rc.FilesRemoved = append(rc.FilesRemoved, f)
				}
			}
			return nil
		}); err != nil {
			return err
		}
		lap("lake")
		if err := g.step(ctx, p, stepCheckpoint, func(ctx context.Context) error {
			if _, err := db.ExecContext(ctx, "checkpoint"); err != nil {
				return fmt.Errorf("checkpointing DuckDB: %w", err)
			}
			return nil
		}); err != nil {
			return err
		}
		lap("checkpoint")
		if err := g.step(ctx, p, stepVerified, func(ctx context.Context) error {
			files, err := lakeCandidates(ctx, lake, p.Partitions)
			if err != nil {
				return err
			}
			v, err := g.verifyErased(ctx, db, p, values, files)
			if err != nil {
				return fmt.Errorf("verifying: %w", err)
			}
			rc.Verification = v
			return nil
		}); err != nil {
			return err
		}
		lap("verify")
		return nil
	})
	if err != nil {
		return stopped(err)
	}
	if len(needles) > 0 && rc.Verification.Bytes == nil {
		// The byte search reads the whole directory: after Exclusive, so
		// ingest goes on meanwhile (it drops whatever names the person).
		// It is not a recorded step: its needles live in this run only.
		bs, err := ScanBytes(ctx, g.wh.Dir, needles)
		if err != nil {
			return stopped(&StepError{Step: "searching the data directory", Err: err})
		}
		rc.Verification.Bytes = &bs
		if len(bs.Hits) > 0 {
			rc.Verification.Passed = false
		}
		lap("byte_scan")
	}
	if err := g.finishErasure(ctx, p, start, lap); err != nil {
		return stopped(err)
	}
	if rc.Status != StatusCompleted {
		return *rc, &StepError{Step: "verifying", Err: errNotErased}
	}
	return *rc, nil
}

// deleteStep deletes the person's rows and updates the models, and records
// the step and the counts in the plan, all in one transaction.
func (g *Governance) deleteStep(ctx context.Context, db *sql.DB, p *erasurePlan) error {
	evs, err := g.eventsOf(ctx, db, p.Hashes, p.Whole)
	if err != nil {
		return err
	}
	next := *p
	next.Step = stepDeleted
	next.Receipt.RowsRemoved = maps.Clone(p.Receipt.RowsRemoved)
	next.Receipt.StepsMS = maps.Clone(p.Receipt.StepsMS)
	mst, err := models.Remove(ctx, db, g.models, func(ctx context.Context, conn *sql.Conn) (models.Removal, error) {
		removed, r, err := g.deleteRows(ctx, conn, p, evs)
		if err != nil {
			return r, err
		}
		for k, v := range removed {
			next.Receipt.RowsRemoved[k] = v
		}
		return r, g.savePlan(ctx, conn, &next)
	})
	if err != nil {
		return fmt.Errorf("deleting the person's rows: %w", err)
	}
	for _, st := range mst.Steps {
		if ms := st.Took.Milliseconds(); ms >= 10 {
			next.Receipt.StepsMS["models:"+st.Name] += ms
		}
	}
	*p = next
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.id
	}
	g.wh.ForgetEvents(ids)
	g.wh.ForgetIdentifiers(p.Hashes)
	return nil
}

// finishErasure appends the audit record, signs a checkpoint, saves the
// receipt and closes the request: completed, or failed when the re-scan
// still finds the person.
func (g *Governance) finishErasure(ctx context.Context, p *erasurePlan, start time.Time, lap func(string)) error {
	rc := &p.Receipt
	if err := g.step(ctx, p, stepAudited, func(ctx context.Context) error {
		rc.Status = StatusCompleted
		if !rc.Verification.Passed {
			rc.Status = StatusFailed
		}
		rc.CompletedAt = g.now().UTC()
		var rows int64
		for _, n := range rc.RowsRemoved {
			rows += n
		}
		idx, err := g.audit.Append(ctx, audit.Record{Kind: audit.KindPrivacyRequest, Actor: p.Actor, Subject: rc.Subject,
			Detail: map[string]any{"request_id": rc.RequestID, "type": KindErasure, "status": rc.Status,
				"identifiers": rc.Identifiers, "rows_removed": rows, "files_rewritten": len(rc.FilesRewritten),
				"files_removed": len(rc.FilesRemoved), "keys_destroyed": rc.KeysDestroyed, "verified": rc.Verification.Passed,
				"resumed": len(rc.Resumptions)}})
		if err != nil {
			return fmt.Errorf("appending the audit record: %w", err)
		}
		rc.AuditIndex = idx
		return nil
	}); err != nil {
		return err
	}
	if err := g.step(ctx, p, stepSigned, func(ctx context.Context) error {
		cp, err := g.audit.Checkpoint(ctx)
		if err != nil {
			return fmt.Errorf("signing the audit checkpoint: %w", err)
		}
		rc.Checkpoint, rc.CheckpointHead = cp.N, cp.Head().String()
		return nil
	}); err != nil {
		return err
	}
	if err := g.step(ctx, p, stepSaved, func(ctx context.Context) error {
		// The timings go into the saved receipt: set them before saving.
		lap("audit_and_receipt")
		rc.Took = (time.Duration(p.RunMS)*time.Millisecond + time.Since(start)).Round(time.Millisecond).String()
		data, err := json.MarshalIndent(rc, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the receipt: %w", err)
		}
		return saveReceipt(g.wh.Dir, *rc, data)
	}); err != nil {
		return err
	}
	return g.step(ctx, p, stepDone, func(ctx context.Context) error {
		// Saved again: a run resumed after the save adds its resumption.
		data, err := json.MarshalIndent(rc, "", "  ")
		if err != nil {
			return fmt.Errorf("encoding the receipt: %w", err)
		}
		if err := saveReceipt(g.wh.Dir, *rc, data); err != nil {
			return err
		}
		return g.finishRequest(ctx, p)
	})
}

// eventRef is where one of the person's events lives.
type eventRef struct {
	id, day, channel string
	conversation     sql.NullString
}

func (g *Governance) eventsOf(ctx context.Context, q querier, hashes []string, whole bool) ([]eventRef, error) {
	where, args := filter(hashes, whole)
	rows, err := q.QueryContext(ctx, `select event_id, strftime(occurred_at at time zone 'UTC', '%Y-%m-%d'), coalesce(channel, 'none'), conversation_id
		from events where `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("listing the person's events: %w", err)
	}
	defer rows.Close()
	var out []eventRef
	for rows.Next() {
		var e eventRef
		if err := rows.Scan(&e.id, &e.day, &e.channel, &e.conversation); err != nil {
			return nil, fmt.Errorf("listing the person's events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// deleteRows deletes the person's rows inside the models' transaction.
func (g *Governance) deleteRows(ctx context.Context, conn *sql.Conn, p *erasurePlan, evs []eventRef) (map[string]int64, models.Removal, error) {
	removed := map[string]int64{}
	var r models.Removal
	hashes, contactKeys, dls := p.Hashes, p.ContactKeys, p.deadLetters()
	if err := warehouse.AddRules(ctx, conn, p.rules(), g.now()); err != nil {
		return nil, r, err
	}
	convs := map[string]bool{}
	for _, e := range evs {
		if e.conversation.Valid && !convs[e.conversation.String] {
			convs[e.conversation.String] = true
			r.Conversations = append(r.Conversations, e.conversation.String)
		}
	}
	ev, err := EventsTable{Q: conn, Whole: p.Whole}.Erase(ctx, hashes)
	if err != nil {
		return nil, r, err
	}
	removed["events"], r.Events, r.Identifiers = ev.Rows, ev.Rows, hashes
	exec := func(table, q string, args ...any) error {
		res, err := conn.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("deleting from %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		removed[table] += n
		return nil
	}
	if err := exec("identifiers", `delete from identifiers where identifier_hash in (select unnest(?::varchar[]))`, hashes); err != nil {
		return nil, r, err
	}
	if err := exec("identifier_aliases", `delete from identifier_aliases where identifier_hash in (select unnest(?::varchar[]))
		or canonical_hash in (select unnest(?::varchar[]))`, hashes, hashes); err != nil {
		return nil, r, err
	}
	for _, d := range dls {
		if err := exec("dead_letters", `delete from dead_letters where topic = ? and "partition" = ? and "offset" = ?`, d.topic, d.partition, d.offset); err != nil {
			return nil, r, err
		}
	}
	if len(contactKeys) > 0 {
		if err := exec("consent_state", `delete from consent_state where contact_key in (select unnest(?::varchar[]))`, contactKeys); err != nil {
			return nil, r, err
		}
	}
	return removed, r, nil
}

// identifierValues unseals the stored values of hashes (those whose keys
// still exist).
func (g *Governance) identifierValues(ctx context.Context, q querier, hashes []string) (map[string]string, error) {
	out := map[string]string{}
	rows, err := q.QueryContext(ctx, `select identifier_hash, sealed_value from identifiers where identifier_hash in (select unnest(?::varchar[]))`, hashes)
	if err != nil {
		return nil, fmt.Errorf("reading the person's identifiers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var sealed []byte
		if err := rows.Scan(&h, &sealed); err != nil {
			return nil, fmt.Errorf("reading the person's identifiers: %w", err)
		}
		if v, err := privacy.OpenIdentifier(g.wh.Keys(), h, sealed); err == nil {
			out[h] = v
		}
	}
	return out, rows.Err()
}

// deadLetterRef names a dead letter.
type deadLetterRef struct {
	topic     string
	partition int
	offset    int64
}

// deadLettersMentioning unseals every readable dead letter and returns
// those whose bytes (or Kafka key) mention one of values: as a substring,
// case-insensitively, or for a phone, as the same digits in any
// punctuation ("+55 (11) 97777-1234"). It costs O(dead letters).
func (g *Governance) deadLettersMentioning(ctx context.Context, q querier, values map[string]string) ([]deadLetterRef, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := newMatcher(values)
	rows, err := q.QueryContext(ctx, `select topic, "partition", "offset", message_key, raw from dead_letters`)
	if err != nil {
		return nil, fmt.Errorf("reading dead letters: %w", err)
	}
	defer rows.Close()
	var out []deadLetterRef
	for rows.Next() {
		var d deadLetterRef
		var key, raw []byte
		if err := rows.Scan(&d.topic, &d.partition, &d.offset, &key, &raw); err != nil {
			return nil, fmt.Errorf("reading dead letters: %w", err)
		}
		pr, pk, err := privacy.OpenDeadLetter(g.wh.Keys(), d.topic, d.partition, d.offset, raw, key)
		if err != nil {
			continue // its key is gone: nothing readable is left of it
		}
		if m.match(pr) || m.match(pk) {
			out = append(out, d)
		}
	}
	return out, rows.Err()
}

// mentionForms are the forms in which ingest's dead-letter check
// (warehouse.Mentions) can meet a value: the value, and for a phone its
// national part too (the same rule as matcher: 8 digits or more without the
// country code), as ingest normalizes a phone-like run to + and its digits.
func mentionForms(v string) []string {
	out := []string{v}
	if d, ok := strings.CutPrefix(v, "+"); ok {
		for i := 1; len(d)-i >= 8; i++ {
			out = append(out, "+"+d[i:])
		}
	}
	return out
}

// matcher finds a person's identifier values in bytes.
type matcher struct {
	subs   [][]byte // lower-case values
	phones [][]byte // digits of phone values
}

func newMatcher(values map[string]string) matcher {
	var m matcher
	for _, v := range values {
		m.subs = append(m.subs, []byte(strings.ToLower(v)))
		if strings.HasPrefix(v, "+") {
			m.phones = append(m.phones, []byte(v[1:]))
		}
	}
	return m
}

func (m matcher) match(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	low := bytes.ToLower(b)
	for _, s := range m.subs {
		if len(s) > 0 && bytes.Contains(low, s) {
			return true
		}
	}
	if len(m.phones) == 0 {
		return false
	}
	// Runs of digits and phone punctuation, compared by their digits: the
	// whole number, or its national part (8 digits or more) without the
	// country code.
	digits := make([]byte, 0, 32)
	check := func() bool {
		for _, p := range m.phones {
			if len(digits) >= 8 && bytes.HasSuffix(p, digits) {
				return true
			}
		}
		return false
	}
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '(' || c == ')' || c == '.' || c == '-' || c == '+':
			if c == '+' && len(digits) > 0 { // a + starts a new number
				if check() {
					return true
				}
				digits = digits[:0]
			}
		default:
			if check() {
				return true
			}
			digits = digits[:0]
		}
	}
	return check()
}

// personCounts counts what names the person, per place.
type personCounts struct {
	places map[string]int64 // events, identifiers, ...
	models map[string]int64 // derived tables
}

func (c personCounts) total() int64 {
	var n int64
	for _, v := range c.places {
		n += v
	}
	for _, v := range c.models {
		n += v
	}
	return n
}

func (g *Governance) countPerson(ctx context.Context, q querier, hashes, contactKeys []string) (personCounts, error) {
	c := personCounts{places: map[string]int64{}, models: map[string]int64{}}
	present := map[string]bool{}
	rows, err := q.QueryContext(ctx, `select table_name from duckdb_tables()
		where not temporary and table_name in ('int_identifiers_resolved', 'int_conversations_joined', 'int_contacts_summarized', 'consent_state')`)
	if err != nil {
		return c, fmt.Errorf("listing tables: %w", err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return c, fmt.Errorf("listing tables: %w", err)
		}
		present[t] = true
	}
	rows.Close()
	// One statement, one round trip: the events by subject, the identifiers,
	// and the tables keyed by contact_key.
	names := []string{"events", "identifiers", "identifier_aliases"}
	parts := []string{
		`(select count(*) from events where ` + personOnly + `)`,
		`(select count(*) from identifiers where identifier_hash in (select unnest(?::varchar[])))`,
		`(select count(*) from identifier_aliases where identifier_hash in (select unnest(?::varchar[]))
			or canonical_hash in (select unnest(?::varchar[])))`,
	}
	args := []any{hashes, hashes, hashes, hashes}
	if len(contactKeys) > 0 {
		// The conversations and contacts marts are views over
		// int_conversations_joined and int_contacts_summarized; the receipt
		// names the marts people know.
		mart := strings.NewReplacer("int_conversations_joined", "conversations", "int_contacts_summarized", "contacts")
		for _, t := range []string{"int_identifiers_resolved", "int_conversations_joined", "int_contacts_summarized", "consent_state"} {
			if present[t] {
				names = append(names, mart.Replace(t))
				parts = append(parts, `(select count(*) from `+t+` where contact_key in (select unnest(?::varchar[])))`)
				args = append(args, contactKeys)
			}
		}
	}
	counts := make([]int64, len(parts))
	dst := make([]any, len(parts))
	for i := range counts {
		dst[i] = &counts[i]
	}
	if err := q.QueryRowContext(ctx, `select `+strings.Join(parts, ", "), args...).Scan(dst...); err != nil {
		return c, fmt.Errorf("counting the person's rows: %w", err)
	}
	for i, t := range names {
		switch t {
		case "events", "identifiers", "identifier_aliases", "consent_state":
			c.places[t] = counts[i]
		default:
			c.models[t] = counts[i]
		}
	}
	return c, nil
}

// personNeedles are the byte strings a byte search looks for: identifier
// values (phones also without +) and the person's texts (unsealed before
// the erasure), each at least 6 bytes so that a hit means something.
func (g *Governance) personNeedles(ctx context.Context, q querier, hashes []string, values map[string]string) ([][]byte, error) {
	var out [][]byte
	add := func(s string) {
		if len(s) >= 6 {
			out = append(out, []byte(s))
		}
	}
	for _, v := range values {
		add(v)
		if strings.HasPrefix(v, "+") {
			add(v[1:])
		}
	}
	rows, err := q.QueryContext(ctx, `select event_id, subject_hash, occurred_at, content from events where content is not null and `+personOnly, hashes)
	if err != nil {
		return nil, fmt.Errorf("reading the person's texts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, subject string
		var at time.Time
		var sealed []byte
		if err := rows.Scan(&id, &subject, &at, &sealed); err != nil {
			return nil, fmt.Errorf("reading the person's texts: %w", err)
		}
		c, err := privacy.OpenContent(g.wh.Keys(), id, subject, at, sealed)
		if err != nil {
			continue
		}
		for _, s := range []string{c.MessageText, c.HandoffSummary, c.SurveyComment, c.ContactName,
			c.HandoffNextAction, c.HandoffOwner, c.HandoffReason, c.ActorID} {
			add(s)
		}
	}
	return out, rows.Err()
}

// verifyErased re-scans every place for the person: DuckDB's tables (the
// events by their identifiers), the dead letters the plan named and, when
// the values are known, every dead letter that mentions them, every file of
// the lake partitions that held them (lakeFiles), the suppression rules
// and the key store.
func (g *Governance) verifyErased(ctx context.Context, db *sql.DB, p *erasurePlan, values map[string]string, lakeFiles []string) (Verification, error) {
	v := Verification{Remaining: map[string]int64{}}
	c, err := g.countPerson(ctx, db, p.Hashes, p.ContactKeys)
	if err != nil {
		return v, err
	}
	for k, n := range c.places {
		v.Remaining[k] = n
	}
	for k, n := range c.models {
		v.Remaining[k] = n
	}
	if !p.Whole {
		if v.Remaining["events"], err = (EventsTable{Q: db}).Count(ctx, p.Hashes, time.Time{}); err != nil {
			return v, err
		}
	}
	left := map[deadLetterRef]bool{}
	dls, err := g.deadLettersMentioning(ctx, db, values)
	if err != nil {
		return v, err
	}
	for _, d := range dls {
		left[d] = true
	}
	for _, d := range p.deadLetters() {
		var n int64
		if err := db.QueryRowContext(ctx, `select count(*) from dead_letters where topic = ? and "partition" = ? and "offset" = ?`,
			d.topic, d.partition, d.offset).Scan(&n); err != nil {
			return v, fmt.Errorf("checking the dead letters: %w", err)
		}
		if n > 0 {
			left[d] = true
		}
	}
	v.Remaining["dead_letters"] = int64(len(left))
	var rules int64
	if err := db.QueryRowContext(ctx, `select count(*) from identifier_rules where rule = 'suppress' and identifier_hash in (select unnest(?::varchar[]))`, p.Hashes).Scan(&rules); err != nil {
		return v, fmt.Errorf("checking the suppression rules: %w", err)
	}
	if v.Remaining["lake"], err = (Lake{Dir: g.wh.Dir, Q: db, Whole: p.Whole}).CountIn(ctx, lakeFiles, p.Hashes, time.Time{}); err != nil {
		return v, err
	}
	for _, id := range p.keyIDs() {
		if _, ok := g.wh.Keys().Get(id); ok {
			v.KeysRemaining++
		}
	}
	v.Passed = v.KeysRemaining == 0 && rules == int64(len(p.Hashes))
	for _, n := range v.Remaining {
		if n != 0 {
			v.Passed = false
		}
	}
	return v, nil
}

// ScanBytes searches every file under dir for any of needles (exact, and
// case-insensitively) and returns the files that contain one (relative to
// dir). Files are read in chunks, so memory stays small whatever their size.
func ScanBytes(ctx context.Context, dir string, needles [][]byte) (ByteScan, error) {
	bs := ByteScan{Needles: len(needles), Hits: []string{}}
	longest := 0
	lower := make([][]byte, len(needles))
	for i, n := range needles {
		longest = max(longest, len(n))
		lower[i] = bytes.ToLower(n)
	}
	buf := make([]byte, 4<<20+longest)
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if info.IsDir() {
			return ctx.Err()
		}
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		defer f.Close()
		bs.Files++
		keep := 0 // bytes carried over from the previous chunk
		for {
			n, rerr := f.Read(buf[keep:])
			bs.Bytes += int64(n)
			chunk := buf[:keep+n]
			low := bytes.ToLower(chunk)
			for i, nd := range needles {
				if len(nd) > 0 && (bytes.Contains(chunk, nd) || bytes.Contains(low, lower[i])) {
					rel, _ := filepath.Rel(dir, p)
					bs.Hits = append(bs.Hits, rel)
					return nil
				}
			}
			if rerr != nil {
				break
			}
			keep = min(len(chunk), longest)
			copy(buf, chunk[len(chunk)-keep:])
		}
		return nil
	})
	if err != nil {
		return bs, fmt.Errorf("searching the data directory: %w", err)
	}
	return bs, nil
}
