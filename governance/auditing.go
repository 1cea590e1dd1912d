package governance

import (
	"context"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// The records other stages append to the audit log. None carries personal
// data: counts, ids, durations, and for gateway queries the statement with
// its literals replaced (a literal may be an e-mail or a phone).

// IngestBatchRecord is the audit record of a committed ingest batch.
func IngestBatchRecord(r warehouse.Result) audit.Record {
	return audit.Record{Kind: audit.KindIngestBatch, Actor: "ingest", Detail: map[string]any{
		"batch_id": r.BatchID, "accepted": r.Accepted, "duplicates": r.Duplicates, "dead_letters": r.DeadLetters,
		"suppressed": r.Suppressed, "expired": r.Expired}}
}

// ModelRefreshRecord is the audit record of a model build.
func ModelRefreshRecord(st models.Stats) audit.Record {
	return audit.Record{Kind: audit.KindModelRefresh, Actor: "models", Detail: map[string]any{
		"full": st.Full, "reason": st.Reason, "from_batch": st.FromBatch, "to_batch": st.ToBatch,
		"new_events": st.NewEvents, "conversations": st.Conversations, "contacts": st.Contacts,
		"took_ms": st.Took.Milliseconds()}}
}

// LakePublishRecord is the audit record of a lake publication.
func LakePublishRecord(p warehouse.Publication) audit.Record {
	return audit.Record{Kind: audit.KindLakePublish, Actor: "lake", Detail: map[string]any{
		"from_batch": p.FromBatchID + 1, "to_batch": p.ToBatchID, "events": p.Events}}
}

// QueryRecord is the audit record of a query through the SQL gateway: who
// (user and role), what (the statement with literals replaced by ?, and a
// SHA-256 of the full text so a disclosed statement can be matched to its
// record), how many rows, how long, and whether it failed.
func QueryRecord(user, role, sql string, rows int64, took time.Duration, failed error) audit.Record {
	sum := sha256.Sum256([]byte(sql))
	d := map[string]any{"role": role, "statement": clip(StripLiterals(sql), 2000), "statement_sha256": hex.EncodeToString(sum[:]),
		"rows": rows, "took_ms": took.Milliseconds()}
	if failed != nil {
		d["failed"] = true
	}
	return audit.Record{Kind: audit.KindGatewayQuery, Actor: clip(safeActor(user), 128), Detail: d}
}

// StripLiterals replaces SQL string literals ('...', E'...', $$...$$) and
// numbers with ?, so a logged statement does not carry the values it
// filtered on.
func StripLiterals(sql string) string {
	var b strings.Builder
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'':
			j := i + 1
			for j < len(sql) {
				if sql[j] == '\'' {
					if j+1 < len(sql) && sql[j+1] == '\'' {
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteByte('?')
			i = j + 1
		case c == '$' && i+1 < len(sql) && sql[i+1] == '$':
			end := strings.Index(sql[i+2:], "$$")
			b.WriteByte('?')
			if end < 0 {
				i = len(sql)
			} else {
				i += 2 + end + 2
			}
		case c >= '0' && c <= '9' && (i == 0 || !isIdent(sql[i-1])):
			j := i
			for j < len(sql) && (sql[j] >= '0' && sql[j] <= '9' || sql[j] == '.' || sql[j] == 'e' || sql[j] == 'E') {
				j++
			}
			b.WriteByte('?')
			i = j
		case c == '"':
			// A quoted identifier is kept; it is a name, not a value.
			j := strings.IndexByte(sql[i+1:], '"')
			if j < 0 {
				b.WriteString(sql[i:])
				i = len(sql)
			} else {
				b.WriteString(sql[i : i+j+2])
				i += j + 2
			}
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// safeActor keeps a user name usable as an audit actor: no e-mail address.
func safeActor(s string) string {
	if at := strings.IndexByte(s, '@'); at >= 0 {
		s = s[:at]
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '.' || r == '-' || r == ':' || r == '/' || r == ' ' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// mirrorChunk is how many audit records one mirror statement (its own
// transaction) appends: the memory a mirror holds is bounded by it, not
// by how far the mirror is behind.
const mirrorChunk = 5000

// MirrorAudit copies the audit records not yet in the audit_log table
// (the chain's files stay the source of truth), in one pass over the
// records file and in chunks of mirrorChunk records, each one multi-row
// insert committed on its own: a mirror that fell behind catches up in
// one call, and a failure keeps the chunks already committed. It returns
// how many records it copied.
func (g *Governance) MirrorAudit(ctx context.Context) (int, error) {
	var next int64
	if err := g.wh.DB.QueryRowContext(ctx, `select coalesce(max(audit_index) + 1, 0) from audit_log`).Scan(&next); err != nil {
		return 0, fmt.Errorf("reading the audit mirror: %w", err)
	}
	copied := 0
	chunk := make([]audit.Record, 0, mirrorChunk)
	var ferr error
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		if err := g.mirrorChunk(ctx, chunk); err != nil {
			return err
		}
		copied += len(chunk)
		chunk = chunk[:0]
		return nil
	}
	err := audit.ReadRecords(ctx, g.audit.Dir(), next, func(r audit.Record) bool {
		chunk = append(chunk, r)
		if len(chunk) == mirrorChunk {
			ferr = flush()
		}
		return ferr == nil
	})
	if err == nil && ferr == nil {
		ferr = flush()
	}
	if err != nil {
		return copied, fmt.Errorf("mirroring audit records: %w", err)
	}
	return copied, ferr
}

// mirrorChunk appends recs to audit_log: DuckDB's appender fills a
// temporary table, and one insert moves it over (skipping any record a
// concurrent mirror copied first) and commits.
func (g *Governance) mirrorChunk(ctx context.Context, recs []audit.Record) error {
	conn, err := g.wh.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("mirroring audit records: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `create or replace temp table audit_mirror_chunk as from audit_log limit 0`); err != nil {
		return fmt.Errorf("mirroring audit records: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `drop table if exists audit_mirror_chunk`)
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", "audit_mirror_chunk")
		if err != nil {
			return err
		}
		for _, r := range recs {
			var detail any
			if len(r.Detail) > 0 {
				b, err := json.Marshal(r.Detail)
				if err != nil {
					_ = a.Close()
					return fmt.Errorf("record %d: %w", r.Index, err)
				}
				detail = string(b)
			}
			if err := a.AppendRow(r.Index, r.Time.UTC(), r.Kind, nullable(r.Actor), nullable(r.Subject), detail); err != nil {
				_ = a.Close()
				return err
			}
		}
		return a.CloseWithCancel(ctx)
	})
	if err == nil {
		_, err = conn.ExecContext(ctx, `insert or ignore into audit_log from audit_mirror_chunk`)
	}
	if err != nil {
		return warehouse.ExplainMemory(fmt.Errorf("mirroring audit records %d to %d: %w", recs[0].Index, recs[len(recs)-1].Index, err))
	}
	return nil
}

// MirrorLag is how many audit records the audit_log table lacks: /metrics
// reads it.
func (g *Governance) MirrorLag(ctx context.Context) (int64, error) {
	var next int64
	if err := g.wh.DB.QueryRowContext(ctx, `select coalesce(max(audit_index) + 1, 0) from audit_log`).Scan(&next); err != nil {
		return 0, fmt.Errorf("reading the audit mirror: %w", err)
	}
	return max(g.audit.Len()-next, 0), nil
}
