package warehouse

import (
	"context"
	"fmt"
	"strings"
)

// The writers' view of the tables they append to. DuckDB's appender writes
// by position, so a table whose columns differ from what a writer sends
// (a directory changed outside the migrations, or a migration that forgot
// a writer) would put values into the wrong columns or fail on the first
// batch. Open compares each appended table with its shape, after the
// migrations, and refuses to start on any difference.

// column is a column's name and DuckDB type, as duckdb_columns() reports them.
type column struct{ name, typ string }

// eventsShape is the events table as row (row.go) writes it, in order.
var eventsShape = []column{
	{"event_id", "VARCHAR"},
	{"type", "VARCHAR"},
	{"occurred_at", "TIMESTAMP WITH TIME ZONE"},
	{"source", "VARCHAR"},
	{"channel", "VARCHAR"},
	{"conversation_id", "VARCHAR"},
	{"actor_kind", "VARCHAR"},
	{"actor_id", "VARCHAR"},
	{"actor_team", "VARCHAR"},
	{"message_direction", "VARCHAR"},
	{"message_private", "BOOLEAN"},
	{"message_intent", "VARCHAR"},
	{"handoff_reason", "VARCHAR"},
	{"handoff_to_team", "VARCHAR"},
	{"handoff_next_action", "VARCHAR"},
	{"handoff_owner", "VARCHAR"},
	{"handoff_sla_s", "BIGINT"},
	{"handoff_has_context", "BOOLEAN"},
	{"survey_kind", "VARCHAR"},
	{"survey_score", "INTEGER"},
	{"consent_purpose", "VARCHAR"},
	{"consent_granted", "BOOLEAN"},
	{"consent_basis", "VARCHAR"},
	{"consent_source", "VARCHAR"},
	{"kafka_topic", "VARCHAR"},
	{"kafka_partition", "INTEGER"},
	{"kafka_offset", "BIGINT"},
	{"batch_id", "BIGINT"},
	{"ingested_at", "TIMESTAMP WITH TIME ZONE"},
	{"contact_phone_hash", "VARCHAR"},
	{"contact_email_hash", "VARCHAR"},
	{"contact_ids_hash", "JSON"},
	{"link_phone_hash", "VARCHAR"},
	{"link_email_hash", "VARCHAR"},
	{"link_ids_hash", "JSON"},
	{"subject_hash", "VARCHAR"},
	{"content", "BLOB"},
	{"content_hash", "BIGINT"},
	{"actor_key", "VARCHAR"},
	{"handoff_items", "INTEGER"},
}

// identifiersShape is the identifiers table as the identifier appender
// (governed.go) writes it.
var identifiersShape = []column{
	{"identifier_hash", "VARCHAR"},
	{"identifier_kind", "VARCHAR"},
	{"sealed_value", "BLOB"},
	{"first_seen_at", "TIMESTAMP WITH TIME ZONE"},
	{"batch_id", "BIGINT"},
}

// ShapeError means a table's columns differ from what its writer appends.
type ShapeError struct {
	Table        string
	Position     int    // 1-based; 0 when the column counts differ
	Found, Wants string // "name TYPE", or the counts
}

func (e *ShapeError) Error() string {
	if e.Position == 0 {
		return fmt.Sprintf("table %s has %s columns, but this cxlake writes %s: the data directory's schema was changed outside cxlake's migrations (docs/upgrading.md)", e.Table, e.Found, e.Wants)
	}
	return fmt.Sprintf("table %s: column %d is %s, but this cxlake writes %s there: the data directory's schema was changed outside cxlake's migrations (docs/upgrading.md)", e.Table, e.Position, e.Found, e.Wants)
}

// checkShapes compares the appended tables with their writers' shapes.
func checkShapes(ctx context.Context, q queryer) error {
	for _, t := range []struct {
		name  string
		shape []column
	}{{"events", eventsShape}, {"identifiers", identifiersShape}} {
		if err := checkShape(ctx, q, t.name, t.shape); err != nil {
			return err
		}
	}
	return nil
}

func checkShape(ctx context.Context, q queryer, table string, want []column) error {
	rows, err := q.QueryContext(ctx, `select column_name, data_type from duckdb_columns()
		where database_name = current_database() and schema_name = 'main' and table_name = ? order by column_index`, table)
	if err != nil {
		return fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	defer rows.Close()
	var got []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return fmt.Errorf("reading the columns of %s: %w", table, err)
		}
		got = append(got, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the columns of %s: %w", table, err)
	}
	for i := 0; i < min(len(got), len(want)); i++ {
		if !strings.EqualFold(got[i].name, want[i].name) || got[i].typ != want[i].typ {
			return &ShapeError{Table: table, Position: i + 1, Found: got[i].name + " " + got[i].typ, Wants: want[i].name + " " + want[i].typ}
		}
	}
	if len(got) != len(want) {
		return &ShapeError{Table: table, Found: fmt.Sprint(len(got)), Wants: fmt.Sprint(len(want))}
	}
	return nil
}
