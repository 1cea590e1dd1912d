package gateway

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Running a checked statement on the session's DuckDB connection and
// streaming its rows as DataRows, bounded by max_result_rows.

// runRows runs one checked statement and streams its rows. With
// describe, a RowDescription (text formats) goes first, as the simple
// protocol wants; the extended protocol passes the described column types
// (oids) and formats.
func (sess *session) runRows(ctx context.Context, text string, args []any, oids []uint32, formats []int16,
	describe bool) (int64, error) {
	rows, err := sess.conn.QueryContext(ctx, text, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return 0, err
	}
	if oids == nil {
		oids = make([]uint32, len(cols))
		for i, c := range cols {
			oids[i] = oidOfName(c.DatabaseTypeName())
		}
	}
	if len(oids) != len(cols) {
		return 0, fmt.Errorf("the statement returned %d columns where %d were described", len(cols), len(oids))
	}
	if describe {
		fields := make([]pgproto3.FieldDescription, len(cols))
		for i, c := range cols {
			fields[i] = field(c.Name(), oids[i], 0)
		}
		sess.be.Send(&pgproto3.RowDescription{Fields: fields})
	}
	w := rowWriter{sess: sess, oids: oids, formats: formats, limit: sess.srv.cfg.MaxResultRows}
	n, err := w.stream(rows, nil)
	if err != nil {
		return n, err
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "SELECT %d", n)})
	return n, nil
}

func field(name string, oid uint32, format int16) pgproto3.FieldDescription {
	return pgproto3.FieldDescription{Name: []byte(name), DataTypeOID: oid, DataTypeSize: typeSize(oid),
		TypeModifier: -1, Format: format}
}

// rowWriter encodes rows and sends them, or collects them for a portal.
type rowWriter struct {
	sess    *session
	oids    []uint32
	formats []int16
	limit   int
}

// stream reads all rows. With collect non-nil, encoded rows are appended
// there instead of being sent.
func (w *rowWriter) stream(rows *sql.Rows, collect *[][][]byte) (int64, error) {
	n := len(w.oids)
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var count int64
	var pending int
	var arena []byte
	out := make([][]byte, n)
	for rows.Next() {
		if count >= int64(w.limit) {
			return count, errTooManyRows{w.limit}
		}
		if err := rows.Scan(ptrs...); err != nil {
			return count, err
		}
		arena = arena[:0]
		offs := make([]int, n+1)
		nulls := make([]bool, n)
		for i, v := range vals {
			offs[i] = len(arena)
			if v == nil {
				nulls[i] = true
				continue
			}
			f := textFormat
			if len(w.formats) == 1 {
				f = w.formats[0]
			} else if len(w.formats) > i {
				f = w.formats[i]
			}
			var err error
			if arena, err = appendValue(arena, w.oids[i], f, v); err != nil {
				return count, fmt.Errorf("column %d: %w", i+1, err)
			}
		}
		offs[n] = len(arena)
		for i := range out {
			if nulls[i] {
				out[i] = nil
			} else {
				out[i] = arena[offs[i]:offs[i+1]:offs[i+1]]
			}
		}
		if collect != nil {
			row := make([][]byte, n)
			for i := range out {
				if out[i] != nil {
					row[i] = append([]byte{}, out[i]...)
				}
			}
			*collect = append(*collect, row)
		} else {
			w.sess.be.Send(&pgproto3.DataRow{Values: out})
			pending += len(arena) + 4*n
			if pending > 64<<10 {
				if err := w.sess.be.Flush(); err != nil {
					return count, err
				}
				pending = 0
			}
		}
		count++
	}
	return count, rows.Err()
}
