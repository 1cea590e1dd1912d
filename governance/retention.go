package governance

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// Data classes of the retention policy.
const (
	ClassMessageText = "message_text"
	ClassRawEvents   = "raw_events"
	ClassDeadLetters = "dead_letters"
	ClassAudit       = "audit"
)

// Retention classes of stored tables that no policy duration expires
// (TableClasses).
const (
	// ClassDecision: a decision that must outlive the events it was made
	// for (a consent withdrawal, an erasure's suppression): kept while it is
	// in force, as keyed hashes only. Dropping it when the events are gone
	// would store the person's next event in full.
	ClassDecision = "decision"
	// ClassDerived: built from the other tables by the models and rebuilt
	// at their next refresh after a retention run or an erasure.
	ClassDerived = "derived"
	// ClassStructural: bookkeeping a data directory needs to open and to
	// continue (schema versions, the hash key's check, the lake's last
	// publication); no personal data, one row per upgrade or publication.
	ClassStructural = "structural"
)

// TableClasses gives every table a data directory stores its retention
// class (docs/governance.md, "Retention class of every table"). The
// retention test walks duckdb_tables() and fails on a table that is not
// here, so a new table cannot be added without deciding how long it lives.
// Model tables are ClassDerived (models.Relations).
var TableClasses = map[string]string{
	"events":               ClassRawEvents, // its content column: ClassMessageText
	"identifiers":          ClassRawEvents, // leave when no event names them
	"identifier_aliases":   ClassRawEvents, // leave with the old identifier
	"ingest_batches":       ClassRawEvents, // by committed_at; the latest batch stays (the next batch id)
	"dead_letters":         ClassDeadLetters,
	"skipped_messages":     ClassDeadLetters, // by skipped_at
	"message_revisions":    ClassRawEvents,   // by recorded_at; no text, event ids only
	"audit_log":            ClassAudit,       // the mirror follows the pruned log
	"audit_verifications":  ClassAudit,
	"retention_runs":       ClassAudit,
	"gateway_queries":      ClassAudit, // the query audit, by received_at
	"gateway_logins":       ClassAudit, // by attempted_at
	"gateway_chain_losses": ClassAudit, // by lost_at; no statement, no values
	"privacy_requests":     ClassAudit, // ended requests, by completed_at, with their receipt files
	"erasure_plans":        ClassDecision,
	"consent_state":        ClassDecision,
	"identifier_rules":     ClassDecision,
	"warehouse_meta":       ClassStructural,
	"schema_migrations":    ClassStructural,
	"lake_publications":    ClassStructural,
	// The models' copy of the configuration (schedules, holidays, SLAs, FRT buckets,
	// the cost model), rewritten from the config at every refresh.
	"cfg_business_hours": ClassDerived,
	"cfg_cost_model":     ClassDerived,
	"cfg_cost_prices":    ClassDerived,
	"cfg_frt_buckets":    ClassDerived,
	"cfg_holidays":       ClassDerived,
	"cfg_schedules":      ClassDerived,
	"cfg_sla":            ClassDerived,
}

// RetentionRun is one row of retention_runs: what one class's policy
// removed from one place.
type RetentionRun struct {
	RunID          string     `json:"run_id"`
	Class          string     `json:"data_class"`
	PolicyDays     int        `json:"policy_days"` // 0: kept forever
	Cutoff         *time.Time `json:"cutoff"`      // data before it was removed
	Location       string     `json:"location"`
	RowsRemoved    int64      `json:"rows_removed"`
	FilesRemoved   int        `json:"files_removed"`
	FilesRewritten int        `json:"files_rewritten"`
	KeysDestroyed  int        `json:"keys_destroyed"`
}

// RetentionReport is what RunRetention did.
type RetentionReport struct {
	RunID      string         `json:"run_id"`
	AsOf       time.Time      `json:"as_of"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Runs       []RetentionRun `json:"runs"`
	AuditIndex int64          `json:"audit_index"`
}

// cutoff is the start of the UTC day before which data of a policy goes;
// the ingest gate uses the same function.
var cutoff = warehouse.RetentionCutoff

// RunRetention applies the retention policy as of asOf (normally now):
//
//   - message_text: the content of older events is dropped and the content
//     keys of their days destroyed (every copy unreadable);
//   - raw_events: older events leave DuckDB and the lake (whole date
//     partitions), identifiers no remaining event names leave with their
//     keys, and their ids are forgotten so a replay is dropped as expired;
//   - dead_letters: older ones leave with their keys;
//   - audit: older records (already signed) leave the log; their hashes stay.
//
// It runs under Exclusive, records one retention_runs row per class and
// place, and appends an audit record. The models notice removed events and
// rebuild at their next refresh.
func (g *Governance) RunRetention(ctx context.Context, asOf time.Time) (RetentionReport, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	rep := RetentionReport{RunID: newID("ret"), AsOf: asOf.UTC(), StartedAt: g.now().UTC()}
	pol := g.cfg.Retention
	add := func(class string, policy time.Duration, loc string, r Removal, keys int) {
		run := RetentionRun{RunID: rep.RunID, Class: class, PolicyDays: int(policy / Day), Location: loc,
			RowsRemoved: r.Rows, FilesRemoved: r.FilesRemoved, FilesRewritten: r.FilesRewritten, KeysDestroyed: keys}
		if policy > 0 {
			c := cutoff(asOf, policy)
			run.Cutoff = &c
		}
		rep.Runs = append(rep.Runs, run)
	}
	err := g.wh.Exclusive(ctx, func(ctx context.Context, db *sql.DB) error {
		// message_text
		if pol.MessageText > 0 {
			c := cutoff(asOf, pol.MessageText)
			res, err := db.ExecContext(ctx, `update events set content = null where content is not null and occurred_at < ?`, c)
			if err != nil {
				return &StepError{Step: "dropping expired message text", Err: err}
			}
			n, _ := res.RowsAffected()
			k, err := g.destroyDayKeys(ctx, db, c)
			if err != nil {
				return err
			}
			add(ClassMessageText, pol.MessageText, "duckdb:events", Removal{Rows: n}, k)
		} else {
			add(ClassMessageText, 0, "duckdb:events", Removal{}, 0)
		}
		// raw_events
		if pol.RawEvents > 0 {
			c := cutoff(asOf, pol.RawEvents)
			ids, err := stringsOf(ctx, db, `select event_id from events where occurred_at < ?`, c)
			if err != nil {
				return err
			}
			r, err := EventsTable{Q: db}.Expire(ctx, c)
			if err != nil {
				return &StepError{Step: "deleting expired events", Err: err}
			}
			g.wh.ForgetEvents(ids)
			var gone int64
			var k int
			if r.Rows > 0 { // only then can an identifier have lost its last event
				if gone, k, err = g.collectIdentifiers(ctx, db); err != nil {
					return err
				}
			}
			add(ClassRawEvents, pol.RawEvents, "duckdb:events", r, 0)
			add(ClassRawEvents, pol.RawEvents, "duckdb:identifiers", Removal{Rows: gone}, k)
			lr, err := Lake{Dir: g.wh.Dir, Q: db, Log: g.log}.Expire(ctx, c)
			if err != nil {
				return &StepError{Step: "expiring lake partitions", Err: err}
			}
			add(ClassRawEvents, pol.RawEvents, "lake", lr, 0)
			n, err := deleteOlder(ctx, db, "ingest_batches", "committed_at", c, "batch_id < (select max(batch_id) from ingest_batches)")
			if err != nil {
				return err
			}
			add(ClassRawEvents, pol.RawEvents, "duckdb:ingest_batches", Removal{Rows: n}, 0)
			if n, err = deleteOlder(ctx, db, "message_revisions", "recorded_at", c, ""); err != nil {
				return err
			}
			add(ClassRawEvents, pol.RawEvents, "duckdb:message_revisions", Removal{Rows: n}, 0)
		} else {
			add(ClassRawEvents, 0, "duckdb:events", Removal{}, 0)
		}
		// dead_letters
		if pol.DeadLetters > 0 {
			c := cutoff(asOf, pol.DeadLetters)
			rows, err := db.QueryContext(ctx, `delete from dead_letters where received_at < ? returning topic, "partition", "offset"`, c)
			if err != nil {
				return &StepError{Step: "deleting expired dead letters", Err: err}
			}
			var ids []privacy.KeyID
			for rows.Next() {
				var d deadLetterRef
				if err := rows.Scan(&d.topic, &d.partition, &d.offset); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, privacy.DeadLetterID(d.topic, d.partition, d.offset))
			}
			rows.Close()
			k, err := g.wh.Keys().Destroy(ids)
			if err != nil {
				return &StepError{Step: "destroying dead letter keys", Err: err}
			}
			add(ClassDeadLetters, pol.DeadLetters, "duckdb:dead_letters", Removal{Rows: int64(len(ids))}, k)
			n, err := deleteOlder(ctx, db, "skipped_messages", "skipped_at", c, "")
			if err != nil {
				return err
			}
			add(ClassDeadLetters, pol.DeadLetters, "duckdb:skipped_messages", Removal{Rows: n}, 0)
		} else {
			add(ClassDeadLetters, 0, "duckdb:dead_letters", Removal{}, 0)
		}
		if _, err := db.ExecContext(ctx, "checkpoint"); err != nil {
			return &StepError{Step: "checkpointing DuckDB", Err: err}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	// audit (outside Exclusive: the log is not in DuckDB)
	if pol.Audit > 0 {
		n, err := g.audit.Prune(ctx, cutoff(asOf, pol.Audit), "retention")
		if err != nil {
			return rep, &StepError{Step: "pruning the audit log", Err: err}
		}
		add(ClassAudit, pol.Audit, "audit", Removal{Rows: n}, 0)
		if err := g.expireAuditTables(ctx, cutoff(asOf, pol.Audit), add); err != nil {
			return rep, err
		}
	} else {
		add(ClassAudit, 0, "audit", Removal{}, 0)
	}
	rep.FinishedAt = g.now().UTC()
	detail := map[string]any{"run_id": rep.RunID, "as_of": rep.AsOf.Format(time.RFC3339)}
	for _, r := range rep.Runs {
		detail[r.Class+":"+r.Location] = r.RowsRemoved
	}
	idx, err := g.audit.Append(ctx, audit.Record{Kind: audit.KindRetentionRun, Actor: "retention", Detail: detail})
	if err != nil {
		return rep, &StepError{Step: "appending the audit record", Err: err}
	}
	rep.AuditIndex = idx
	for _, r := range rep.Runs {
		if _, err := g.wh.DB.ExecContext(ctx, `insert into retention_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.RunID, rep.StartedAt, rep.FinishedAt, rep.AsOf, r.Class, nullPolicy(r.PolicyDays), r.Cutoff, r.Location,
			r.RowsRemoved, r.FilesRemoved, r.FilesRewritten, r.KeysDestroyed, idx); err != nil {
			return rep, fmt.Errorf("recording the retention run: %w", err)
		}
	}
	return rep, nil
}

// deleteOlder deletes the rows of table whose column is before c (and
// that meet the extra condition, when given), and returns how many.
func deleteOlder(ctx context.Context, db querier, table, column string, c time.Time, extra string) (int64, error) {
	q := `delete from ` + table + ` where ` + column + ` < ?`
	if extra != "" {
		q += ` and ` + extra
	}
	if ok, err := tableExists(ctx, db, table); err != nil || !ok {
		return 0, err
	}
	res, err := db.ExecContext(ctx, q, c)
	if err != nil {
		return 0, &StepError{Step: "deleting expired rows of " + table, Err: err}
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// expireAuditTables applies the audit policy to the tables of its class:
// the audit_log mirror loses the records the log no longer holds; the
// query audit, verifications, retention runs and ended privacy requests
// older than the cutoff go, with the requests' receipt files.
func (g *Governance) expireAuditTables(ctx context.Context, c time.Time, add func(string, time.Duration, string, Removal, int)) error {
	pol := g.cfg.Retention.Audit
	db := g.wh.DB
	first := int64(-1)
	if err := audit.ReadRecords(ctx, g.audit.Dir(), 0, func(r audit.Record) bool { first = r.Index; return false }); err != nil {
		return &StepError{Step: "reading the first kept audit record", Err: err}
	}
	var mirror int64
	if first > 0 {
		res, err := db.ExecContext(ctx, `delete from audit_log where audit_index < ?`, first)
		if err != nil {
			return &StepError{Step: "pruning the audit_log mirror", Err: err}
		}
		mirror, _ = res.RowsAffected()
	}
	add(ClassAudit, pol, "duckdb:audit_log", Removal{Rows: mirror}, 0)
	for _, t := range []struct{ table, column, extra string }{
		{"gateway_queries", "received_at", ""},
		{"gateway_logins", "attempted_at", ""},
		{"gateway_chain_losses", "lost_at", ""},
		{"audit_verifications", "verified_at", ""},
		{"retention_runs", "finished_at", ""},
	} {
		n, err := deleteOlder(ctx, db, t.table, t.column, c, t.extra)
		if err != nil {
			return err
		}
		add(ClassAudit, pol, "duckdb:"+t.table, Removal{Rows: n}, 0)
	}
	ended, err := stringsOf(ctx, db, `delete from privacy_requests where completed_at < ? returning request_id`, c)
	if err != nil {
		return &StepError{Step: "deleting ended privacy requests", Err: err}
	}
	files := 0
	for _, id := range ended {
		err := os.Remove(filepath.Join(g.wh.Dir, ReceiptsDir, filepath.Base(id)+".json"))
		if err == nil {
			files++
		} else if !errors.Is(err, os.ErrNotExist) {
			return &StepError{Step: "removing an expired receipt", Err: err}
		}
	}
	add(ClassAudit, pol, "duckdb:privacy_requests", Removal{Rows: int64(len(ended)), FilesRemoved: files}, 0)
	return nil
}

func nullPolicy(days int) any {
	if days == 0 {
		return nil
	}
	return days
}

// destroyDayKeys destroys the content keys of the days before c (back to
// the earliest event, and ten years at least).
func (g *Governance) destroyDayKeys(ctx context.Context, db *sql.DB, c time.Time) (int, error) {
	from := c.AddDate(-10, 0, 0)
	var first sql.NullTime
	if err := db.QueryRowContext(ctx, `select min(occurred_at) from events`).Scan(&first); err != nil {
		return 0, fmt.Errorf("finding the earliest event: %w", err)
	}
	if first.Valid && first.Time.Before(from) {
		from = first.Time.UTC().Truncate(Day)
	}
	days := map[privacy.KeyID]bool{}
	for d := from; d.Before(c); d = d.Add(Day) {
		days[privacy.DayID(privacy.ClassContent, d.Format(time.DateOnly))] = true
	}
	n, err := g.wh.Keys().DestroyWhere(func(id privacy.KeyID) bool { return days[id] })
	if err != nil {
		return n, &StepError{Step: "destroying content day keys", Err: err}
	}
	return n, nil
}

// collectIdentifiers deletes the identifiers no event names any more, with
// their keys.
func (g *Governance) collectIdentifiers(ctx context.Context, db *sql.DB) (int64, int, error) {
	gone, err := stringsOf(ctx, db, `select identifier_hash from identifiers where identifier_hash not in (
		select subject_hash from events where subject_hash is not null
		union all select contact_phone_hash from events where contact_phone_hash is not null
		union all select contact_email_hash from events where contact_email_hash is not null
		union all select link_phone_hash from events where link_phone_hash is not null
		union all select link_email_hash from events where link_email_hash is not null
		union all select unnest(json_extract_string(contact_ids_hash, '$.*')) from events where contact_ids_hash is not null
		union all select unnest(json_extract_string(link_ids_hash, '$.*')) from events where link_ids_hash is not null)`)
	if err != nil {
		return 0, 0, err
	}
	if len(gone) == 0 {
		return 0, 0, nil
	}
	if _, err := db.ExecContext(ctx, `delete from identifiers where identifier_hash in (select unnest(?::varchar[]))`, gone); err != nil {
		return 0, 0, fmt.Errorf("deleting unreferenced identifiers: %w", err)
	}
	// An alias joins an old hash's events to the current hash: with no
	// event left under the old hash, it joins nothing.
	if _, err := db.ExecContext(ctx, `delete from identifier_aliases where identifier_hash in (select unnest(?::varchar[]))`, gone); err != nil {
		return 0, 0, fmt.Errorf("deleting the aliases of unreferenced identifiers: %w", err)
	}
	ids := make([]privacy.KeyID, len(gone))
	for i, h := range gone {
		ids[i] = privacy.SubjectID(h)
	}
	k, err := g.wh.Keys().Destroy(ids)
	if err != nil {
		return 0, 0, &StepError{Step: "destroying identifier keys", Err: err}
	}
	g.wh.ForgetIdentifiers(gone)
	return int64(len(gone)), k, nil
}

func stringsOf(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("querying: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("querying: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
