package governance

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/governance/keys"
	"github.com/cxlake/cxlake/warehouse"
)

// Data classes of the retention policy.
const (
	ClassMessageText = "message_text"
	ClassRawEvents   = "raw_events"
	ClassDeadLetters = "dead_letters"
	ClassAudit       = "audit"
)

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
			lr, err := Lake{Dir: g.wh.Dir, Q: db}.Expire(ctx, c)
			if err != nil {
				return &StepError{Step: "expiring lake partitions", Err: err}
			}
			add(ClassRawEvents, pol.RawEvents, "lake", lr, 0)
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
			var ids []keys.ID
			for rows.Next() {
				var d deadLetterRef
				if err := rows.Scan(&d.topic, &d.partition, &d.offset); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, keys.DeadLetterID(d.topic, d.partition, d.offset))
			}
			rows.Close()
			k, err := g.wh.Keys().Destroy(ids)
			if err != nil {
				return &StepError{Step: "destroying dead letter keys", Err: err}
			}
			add(ClassDeadLetters, pol.DeadLetters, "duckdb:dead_letters", Removal{Rows: int64(len(ids))}, k)
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
	days := map[keys.ID]bool{}
	for d := from; d.Before(c); d = d.Add(Day) {
		days[keys.DayID(keys.ClassContent, d.Format(time.DateOnly))] = true
	}
	n, err := g.wh.Keys().DestroyWhere(func(id keys.ID) bool { return days[id] })
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
	ids := make([]keys.ID, len(gone))
	for i, h := range gone {
		ids[i] = keys.SubjectID(h)
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
