package gateway

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

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
			fields[i] = field(c.Name(), oids[i], typmodOfName(c.DatabaseTypeName()), 0)
		}
		sess.be.Send(&pgproto3.RowDescription{Fields: fields})
	}
	w := rowWriter{sess: sess, oids: oids, formats: formats, limit: sess.srv.cfg.MaxResultRows}
	n, err := w.stream(rows)
	if err != nil {
		return n, err
	}
	sess.be.Send(&pgproto3.CommandComplete{CommandTag: fmt.Appendf(nil, "SELECT %d", n)})
	return n, nil
}

// field describes a result column; typmod is PostgreSQL's (pgtypes.go):
// numeric(p,s) for a DECIMAL, else -1.
func field(name string, oid uint32, typmod int32, format int16) pgproto3.FieldDescription {
	return pgproto3.FieldDescription{Name: []byte(pgColumnName(name)), DataTypeOID: oid, DataTypeSize: typeSize(oid),
		TypeModifier: typmod, Format: format}
}

// flushBytes is how much encoded row data a session holds before it
// writes it to the socket: rows go out as they are read, never collected.
const flushBytes = 64 << 10

// rowWriter encodes rows and sends them as DataRows. One writer may serve
// several calls of next on the same rows (a portal read max_rows at a
// time); limit bounds the rows of all of them.
type rowWriter struct {
	sess    *session
	oids    []uint32
	formats []int16
	limit   int
	copyOut *copyOut // rows go out as COPY TO STDOUT lines, not DataRows

	count  int64        // rows sent so far
	shapes []*typeShape // per column, what orders its nested values (nested.go)
	vals   []any
	ptrs   []any
	out    [][]byte
	arena  []byte
}

// stream sends every remaining row.
func (w *rowWriter) stream(rows *sql.Rows) (int64, error) {
	_, err := w.next(rows, 0)
	return w.count, err
}

// next sends up to max rows (0: all) and reports whether it stopped at max
// with rows possibly left. The socket is written every flushBytes.
func (w *rowWriter) next(rows *sql.Rows, max int64) (suspended bool, err error) {
	n := len(w.oids)
	if w.vals == nil {
		w.vals, w.ptrs, w.out = make([]any, n), make([]any, n), make([][]byte, n)
		for i := range w.vals {
			w.ptrs[i] = &w.vals[i]
		}
		w.shapes = make([]*typeShape, n)
		if cols, err := rows.ColumnTypes(); err == nil && len(cols) == n {
			for i, c := range cols {
				w.shapes[i] = parseTypeShape(c.DatabaseTypeName())
			}
		}
	}
	var sent int64
	var pending int
	for {
		if max > 0 && sent >= max {
			return true, nil
		}
		if !rows.Next() {
			return false, rows.Err()
		}
		if w.count >= int64(w.limit) {
			return false, errTooManyRows{w.limit}
		}
		if err := rows.Scan(w.ptrs...); err != nil {
			return false, err
		}
		w.arena = w.arena[:0]
		offs := make([]int, n+1)
		nulls := make([]bool, n)
		for i, v := range w.vals {
			offs[i] = len(w.arena)
			if v == nil {
				nulls[i] = true
				continue
			}
			if w.shapes[i] != nil {
				v = orderNested(v, w.shapes[i])
			}
			f := textFormat
			if len(w.formats) == 1 {
				f = w.formats[0]
			} else if len(w.formats) > i {
				f = w.formats[i]
			}
			var err error
			if w.arena, err = appendValue(w.arena, w.oids[i], f, v); err != nil {
				return false, fmt.Errorf("column %d: %w", i+1, err)
			}
		}
		offs[n] = len(w.arena)
		for i := range w.out {
			if nulls[i] {
				w.out[i] = nil
			} else {
				w.out[i] = w.arena[offs[i]:offs[i+1]:offs[i+1]]
			}
		}
		if w.copyOut != nil {
			w.sess.be.Send(&pgproto3.CopyData{Data: w.copyOut.line(w.out, nulls)})
		} else {
			w.sess.be.Send(&pgproto3.DataRow{Values: w.out})
		}
		pending += len(w.arena) + 4*n
		if pending > flushBytes {
			if err := w.sess.be.Flush(); err != nil {
				return false, err
			}
			pending = 0
		}
		if cap(w.arena) > 4*flushBytes {
			w.arena = nil // one huge value does not stay with the session
		}
		w.count++
		sent++
	}
}

// pgColumnName is the name PostgreSQL gives a result column where DuckDB
// names it differently. DuckDB names an unaliased expression by its text
// ("count_star()", "min(\"day\")", "CAST(avg(x) AS DECIMAL)");
// PostgreSQL names a function call by the function ("count", "min") and a
// cast by what it casts. Clients and tools (pandas, SQLAlchemy's result
// keys, BI tools' column headers) expect PostgreSQL's. Other names,
// aliases included, are kept as they are.
func pgColumnName(name string) string {
	for {
		if strings.HasPrefix(name, "CAST(") && strings.HasSuffix(name, ")") {
			if i := strings.LastIndex(name, " AS "); i > len("CAST(") {
				name = name[len("CAST("):i]
				continue
			}
		}
		break
	}
	m := callName.FindStringSubmatch(name)
	if m == nil {
		return name
	}
	if m[1] == "count_star" {
		return "count"
	}
	return m[1]
}

// callName matches a DuckDB column name that is the text of a function call.
var callName = regexp.MustCompile(`^([a-z_][a-z0-9_]*)\(.*\)$`)
