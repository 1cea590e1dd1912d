package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/warehouse"
)

func runQuery(ctx context.Context, args []string) (err error) {
	fs := newFlags("query", "query --data DIR [--format table|csv|json] [--memory SIZE] SQL")
	data := dataFlag(fs)
	mem := addMemoryFlag(fs)
	format := fs.String("format", "table", "output format: table, csv or json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("give the SQL to run, e.g. cxlake query --data %s \"select count(*) from events\"", *data)
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return fmt.Errorf("--format is %q: use table, csv or json", *format)
	}
	ms, err := mem.settings(config.Defaults().Memory)
	if err != nil {
		return err
	}
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{ReadOnly: true, Memory: ms})
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	rows, err := wh.DB.QueryContext(ctx, strings.Join(fs.Args(), " "))
	if err != nil {
		return fmt.Errorf("running query: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	out := newResultWriter(os.Stdout, *format, cols)
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("reading row %d: %w", n+1, err)
		}
		out.row(vals)
		n++
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading results: %w", err)
	}
	out.close()
	if *format == "table" {
		fmt.Fprintf(os.Stderr, "(%d rows)\n", n)
	}
	return nil
}

type resultWriter struct {
	format string
	cols   []string
	tw     *tabwriter.Writer
	cw     *csv.Writer
	w      io.Writer
	first  bool
}

func newResultWriter(w io.Writer, format string, cols []string) *resultWriter {
	r := &resultWriter{format: format, cols: cols, w: w, first: true}
	switch format {
	case "table":
		r.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(r.tw, strings.Join(cols, "\t"))
		dashes := make([]string, len(cols))
		for i, c := range cols {
			dashes[i] = strings.Repeat("-", max(3, len(c)))
		}
		fmt.Fprintln(r.tw, strings.Join(dashes, "\t"))
	case "csv":
		r.cw = csv.NewWriter(w)
		r.cw.Write(cols)
	case "json":
		fmt.Fprint(w, "[")
	}
	return r
}

func (r *resultWriter) row(vals []any) {
	switch r.format {
	case "table":
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = strings.NewReplacer("\t", " ", "\n", " ").Replace(text(v, "NULL"))
		}
		fmt.Fprintln(r.tw, strings.Join(cells, "\t"))
	case "csv":
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = text(v, "")
		}
		r.cw.Write(cells)
	case "json": // keys in column order, so output reads like the query
		var b strings.Builder
		b.WriteByte('{')
		for i, v := range vals {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(r.cols[i])
			jv, _ := json.Marshal(jsonValue(v))
			b.Write(k)
			b.WriteByte(':')
			b.Write(jv)
		}
		b.WriteByte('}')
		if !r.first {
			fmt.Fprint(r.w, ",")
		}
		fmt.Fprintf(r.w, "\n  %s", b.String())
		r.first = false
	}
}

func (r *resultWriter) close() {
	switch r.format {
	case "table":
		r.tw.Flush()
	case "csv":
		r.cw.Flush()
	case "json":
		fmt.Fprintln(r.w, "\n]")
	}
}

func text(v any, null string) string {
	switch x := v.(type) {
	case nil:
		return null
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case duckdb.Interval:
		return interval(x)
	case []byte:
		if utf8.Valid(x) {
			return string(x)
		}
		return fmt.Sprintf("\\x%x", x)
	default:
		return fmt.Sprint(x)
	}
}

func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte, time.Time, duckdb.Interval:
		return text(x, "")
	case fmt.Stringer:
		return x.String()
	}
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprint(v)
	}
	return v
}

// interval prints a DuckDB interval the way DuckDB does: "1 month 3 days 02:00:05.5".
func interval(iv duckdb.Interval) string {
	var parts []string
	plural := func(n int32, unit string) {
		if n == 1 || n == -1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, unit))
		} else if n != 0 {
			parts = append(parts, fmt.Sprintf("%d %ss", n, unit))
		}
	}
	plural(iv.Months/12, "year")
	plural(iv.Months%12, "month")
	plural(iv.Days, "day")
	if iv.Micros != 0 || len(parts) == 0 {
		d := time.Duration(iv.Micros) * time.Microsecond
		sign := ""
		if d < 0 {
			sign, d = "-", -d
		}
		h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
		sec := (d % time.Minute).Seconds()
		parts = append(parts, strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%s%02d:%02d:%09.6f", sign, h, m, sec), "0"), "."))
	}
	return strings.Join(parts, " ")
}
