package governance

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/governance/keys"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/pseudonym"
	"github.com/cxlake/cxlake/warehouse"
)

// ErasureRequest asks to erase a person (GDPR art. 17, LGPD art. 18 VI).
type ErasureRequest struct {
	Identifier Identifier
	Reason     string // kept with the request; say why, never who
	Actor      string // who asked: "cli", "api", a staff name
	// VerifyBytes adds to the verification a search of every file under the
	// data directory for the person's identifier values and texts. It
	// reads the whole directory (O(store)); the rest of the erasure costs
	// what the person touched.
	VerifyBytes bool
}

// Erase removes a person from every layer and returns the receipt:
//
//  1. resolve the whole person: every identifier linked to the one named;
//  2. add their keyed hashes to the suppression rules, so ingest drops a
//     replay or a late event naming them;
//  3. destroy their data keys (and those of dead letters mentioning them),
//     rewriting the small key store: every sealed copy anywhere is now
//     unreadable;
//  4. in one transaction, delete their events, identifiers, dead letters
//     and consent state, and update the models for them (models.Remove);
//  5. rewrite the lake files holding their rows;
//  6. checkpoint DuckDB, re-scan every place, append the audit record and
//     sign a checkpoint.
//
// It runs under the warehouse's Exclusive: no ingest batch interleaves. An
// identifier that names nothing held returns ErrUnknownSubject and changes
// nothing. A failure part way returns a *StepError; every step is
// idempotent, so the request can be run again.
func (g *Governance) Erase(ctx context.Context, req ErasureRequest) (Receipt, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	start := time.Now()
	h := pseudonym.NewHasher(g.wh.HashKey())
	var rc Receipt
	var reqRow request
	var needles [][]byte // the person's values, for the byte search
	recorded := false
	steps := map[string]int64{}
	last := time.Now()
	lap := func(name string) {
		steps[name] += time.Since(last).Milliseconds()
		last = time.Now()
	}
	err := g.wh.Exclusive(ctx, func(ctx context.Context, db *sql.DB) error {
		p, err := g.resolve(ctx, db, req.Identifier)
		if err != nil {
			return err
		}
		hashes := p.Hashes()
		lap("resolve")
		values, err := g.identifierValues(ctx, db, hashes)
		if err != nil {
			return err
		}
		if req.Identifier.Kind != KindContactKey {
			values[req.Identifier.hash(h)] = req.Identifier.Value
		}
		dls, err := g.deadLettersMentioning(ctx, db, values)
		if err != nil {
			return err
		}
		evs, err := g.eventsOf(ctx, db, hashes)
		if err != nil {
			return err
		}
		before, err := g.countPerson(ctx, db, hashes, p.ContactKeys)
		if err != nil {
			return err
		}
		if before.total()+int64(len(dls)) == 0 {
			return ErrUnknownSubject
		}
		lap("find")
		if req.VerifyBytes {
			if needles, err = g.personNeedles(ctx, db, hashes, values); err != nil {
				return err
			}
		}

		reqRow = g.newRequest(KindErasure, req.Identifier, req.Identifier.hash(h), req.Reason)
		if err := g.recordRequest(ctx, db, reqRow); err != nil {
			return err
		}
		recorded = true
		rc = Receipt{RequestID: reqRow.ID, Kind: KindErasure, Subject: reqRow.Subject, IdentifierKind: reqRow.IdentifierKind,
			Reason: req.Reason, Identifiers: len(hashes), ContactKeys: p.ContactKeys, ReceivedAt: reqRow.Received,
			DueAt: reqRow.Due, Law: reqRow.Law, RowsRemoved: map[string]int64{}, FilesRewritten: []string{}, FilesRemoved: []string{}}

		// 2. Suppress: from now on ingest drops whatever names them.
		rules := make([]warehouse.IdentifierRule, 0, 2*len(hashes))
		for _, hash := range hashes {
			rules = append(rules, warehouse.IdentifierRule{Hash: hash, Rule: warehouse.RuleSuppress, Reason: "erasure", Ref: reqRow.ID})
		}
		for _, v := range values {
			for _, m := range mentionForms(v) {
				rules = append(rules, warehouse.IdentifierRule{Hash: warehouse.MentionHash(h, m), Rule: warehouse.RuleSuppress, Reason: "erasure", Ref: reqRow.ID})
			}
		}
		g.wh.ApplyRules(rules)
		rc.Suppressed = len(rules)

		// 3. Destroy their keys.
		ids := make([]keys.ID, 0, len(hashes)+len(dls))
		for _, hash := range hashes {
			ids = append(ids, keys.SubjectID(hash))
		}
		for _, d := range dls {
			ids = append(ids, keys.DeadLetterID(d.topic, d.partition, d.offset))
		}
		if rc.KeysDestroyed, err = g.wh.Keys().Destroy(ids); err != nil {
			return &StepError{Step: "destroying data keys", Err: err}
		}
		lap("keys")

		// 4. Delete their rows and update the models, in one transaction.
		var removed map[string]int64
		mst, err := models.Remove(ctx, db, g.models, func(ctx context.Context, conn *sql.Conn) (models.Removal, error) {
			var r models.Removal
			removed, r, err = g.deleteRows(ctx, conn, hashes, p.ContactKeys, dls, rules, evs)
			return r, err
		})
		if err != nil {
			return &StepError{Step: "deleting the person's rows", Err: err}
		}
		lap("delete_and_models")
		for _, st := range mst.Steps {
			if ms := st.Took.Milliseconds(); ms >= 10 {
				steps["models:"+st.Name] += ms
			}
		}
		for k, v := range removed {
			rc.RowsRemoved[k] = v
		}
		for k, v := range before.models {
			rc.RowsRemoved[k] = v
		}
		ids2 := make([]string, len(evs))
		for i, e := range evs {
			ids2[i] = e.id
		}
		g.wh.ForgetEvents(ids2)
		g.wh.ForgetIdentifiers(hashes)

		// 5. The lake: only the partitions their events fell in.
		lake := Lake{Dir: g.wh.Dir, Q: db, Whole: true}
		lr, err := lake.EraseIn(ctx, candidateFiles(lake, evs), hashes)
		if err != nil {
			return &StepError{Step: "rewriting lake files", Err: err}
		}
		rc.RowsRemoved["lake"] = lr.Rows
		lap("lake")
		for _, f := range lr.Files {
			if _, err := os.Stat(filepath.Join(g.wh.Dir, f)); err == nil {
				rc.FilesRewritten = append(rc.FilesRewritten, f)
			} else {
				rc.FilesRemoved = append(rc.FilesRemoved, f)
			}
		}

		// 6. Fold the WAL into the file, and verify.
		if _, err := db.ExecContext(ctx, "checkpoint"); err != nil {
			return &StepError{Step: "checkpointing DuckDB", Err: err}
		}
		lap("checkpoint")
		if rc.Verification, err = g.verifyErased(ctx, db, hashes, p.ContactKeys, values, ids, candidateFiles(lake, evs)); err != nil {
			return &StepError{Step: "verifying", Err: err}
		}
		lap("verify")
		return nil
	})
	if err != nil {
		if recorded {
			g.failRequest(ctx, g.wh.DB, reqRow.ID, err)
			_, _ = g.audit.Append(context.WithoutCancel(ctx), audit.Record{Kind: audit.KindPrivacyRequest, Actor: req.Actor,
				Subject: reqRow.Subject, Detail: map[string]any{"request_id": reqRow.ID, "type": KindErasure, "status": StatusFailed}})
		}
		return rc, err
	}
	if len(needles) > 0 {
		// The byte search reads the whole directory: after Exclusive, so
		// ingest goes on meanwhile (it drops whatever names the person).
		bs, err := ScanBytes(ctx, g.wh.Dir, needles)
		if err != nil {
			g.failRequest(ctx, g.wh.DB, reqRow.ID, err)
			return rc, &StepError{Step: "searching the data directory", Err: err}
		}
		rc.Verification.Bytes = &bs
		if len(bs.Hits) > 0 {
			rc.Verification.Passed = false
		}
		lap("byte_scan")
	}
	rc.CompletedAt = g.now().UTC()
	err = g.finishErasure(ctx, req, &rc)
	lap("audit_and_receipt")
	rc.Took = time.Since(start).Round(time.Millisecond).String()
	rc.StepsMS = steps
	return rc, err
}

// finishErasure appends the audit record, signs a checkpoint, completes the
// request and saves the receipt.
func (g *Governance) finishErasure(ctx context.Context, req ErasureRequest, rc *Receipt) error {
	var rows int64
	for _, n := range rc.RowsRemoved {
		rows += n
	}
	idx, err := g.audit.Append(ctx, audit.Record{Kind: audit.KindPrivacyRequest, Actor: req.Actor, Subject: rc.Subject,
		Detail: map[string]any{"request_id": rc.RequestID, "type": KindErasure, "status": StatusCompleted,
			"identifiers": rc.Identifiers, "rows_removed": rows, "files_rewritten": len(rc.FilesRewritten),
			"files_removed": len(rc.FilesRemoved), "keys_destroyed": rc.KeysDestroyed, "verified": rc.Verification.Passed}})
	if err != nil {
		return &StepError{Step: "appending the audit record", Err: err}
	}
	rc.AuditIndex = idx
	cp, err := g.audit.Checkpoint(ctx)
	if err != nil {
		return &StepError{Step: "signing the audit checkpoint", Err: err}
	}
	rc.Checkpoint = cp.N
	data, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the receipt: %w", err)
	}
	if err := g.completeRequest(ctx, g.wh.DB, rc.RequestID, rc.CompletedAt, idx, rc); err != nil {
		return err
	}
	if err := saveReceipt(g.wh.Dir, *rc, data); err != nil {
		return err
	}
	if !rc.Verification.Passed {
		return &StepError{Step: "verifying", Err: errors.New("the re-scan still finds the person; see the receipt's verification")}
	}
	return nil
}

// eventRef is where one of the person's events lives.
type eventRef struct {
	id, day, channel string
	conversation     sql.NullString
}

func (g *Governance) eventsOf(ctx context.Context, q querier, hashes []string) ([]eventRef, error) {
	rows, err := q.QueryContext(ctx, `select event_id, strftime(occurred_at at time zone 'UTC', '%Y-%m-%d'), coalesce(channel, 'none'), conversation_id
		from events where `+personOnly, hashes)
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

// candidateFiles lists the lake files of the partitions the events fell in.
func candidateFiles(l Lake, evs []eventRef) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range evs {
		dir := filepath.Join(l.root(), "date="+e.day, "channel="+e.channel)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		files, err := filesUnder(dir)
		if err == nil {
			out = append(out, files...)
		}
	}
	return out
}

// deleteRows deletes the person's rows inside the models' transaction.
func (g *Governance) deleteRows(ctx context.Context, conn *sql.Conn, hashes, contactKeys []string, dls []deadLetterRef,
	rules []warehouse.IdentifierRule, evs []eventRef) (map[string]int64, models.Removal, error) {
	removed := map[string]int64{}
	var r models.Removal
	if err := warehouse.AddRules(ctx, conn, rules, g.now()); err != nil {
		return nil, r, err
	}
	convs := map[string]bool{}
	for _, e := range evs {
		if e.conversation.Valid && !convs[e.conversation.String] {
			convs[e.conversation.String] = true
			r.Conversations = append(r.Conversations, e.conversation.String)
		}
	}
	ev, err := EventsTable{Q: conn, Whole: true}.Erase(ctx, hashes)
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
		if v, err := g.wh.OpenIdentifier(h, sealed); err == nil {
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
		pr, pk, err := g.wh.OpenDeadLetter(d.topic, d.partition, d.offset, raw, key)
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
		where not temporary and table_name in ('int_identifiers_resolved', 'int_conversations_joined', 'contacts', 'consent_state')`)
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
	names := []string{"events", "identifiers"}
	parts := []string{
		`(select count(*) from events where ` + personOnly + `)`,
		`(select count(*) from identifiers where identifier_hash in (select unnest(?::varchar[])))`,
	}
	args := []any{hashes, hashes}
	if len(contactKeys) > 0 {
		// The conversations mart is a view over int_conversations_joined;
		// the receipt names the mart people know.
		for _, t := range []string{"int_identifiers_resolved", "int_conversations_joined", "contacts", "consent_state"} {
			if present[t] {
				names = append(names, strings.Replace(t, "int_conversations_joined", "conversations", 1))
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
		case "events", "identifiers", "consent_state":
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
		c, err := g.wh.OpenContent(id, subject, at, sealed)
		if err != nil {
			continue
		}
		for _, s := range []string{c.MessageText, c.HandoffSummary, c.SurveyComment, c.ContactName} {
			add(s)
		}
	}
	return out, rows.Err()
}

// verifyErased re-scans every place for the person: DuckDB's tables (the
// events by their subject), every dead letter, the lake partitions their
// events were in, and the key store.
func (g *Governance) verifyErased(ctx context.Context, db *sql.DB, hashes, contactKeys []string,
	values map[string]string, ids []keys.ID, lakeFiles []string) (Verification, error) {
	v := Verification{Remaining: map[string]int64{}}
	c, err := g.countPerson(ctx, db, hashes, contactKeys)
	if err != nil {
		return v, err
	}
	for k, n := range c.places {
		v.Remaining[k] = n
	}
	for k, n := range c.models {
		v.Remaining[k] = n
	}
	dls, err := g.deadLettersMentioning(ctx, db, values)
	if err != nil {
		return v, err
	}
	v.Remaining["dead_letters"] = int64(len(dls))
	var rules int64
	if err := db.QueryRowContext(ctx, `select count(*) from identifier_rules where rule = 'suppress' and identifier_hash in (select unnest(?::varchar[]))`, hashes).Scan(&rules); err != nil {
		return v, fmt.Errorf("checking the suppression rules: %w", err)
	}
	if v.Remaining["lake"], err = (Lake{Dir: g.wh.Dir, Q: db, Whole: true}).CountIn(ctx, lakeFiles, hashes, time.Time{}); err != nil {
		return v, err
	}
	for _, id := range ids {
		if _, ok := g.wh.Keys().Get(id); ok {
			v.KeysRemaining++
		}
	}
	v.Passed = v.KeysRemaining == 0 && rules == int64(len(hashes))
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
