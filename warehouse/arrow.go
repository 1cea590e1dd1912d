//go:build duckdb_arrow

package warehouse

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The Arrow sink is built only with -tags duckdb_arrow, because duckdb-go's
// Arrow interface is behind that tag. See docs/ingest.md for the measured
// comparison with the appender.
func init() { sinks["arrow"] = func() sink { return arrowSink{} } }

// arrowSink builds one Arrow record per batch in Go memory and hands it to
// DuckDB as a view through the Arrow C stream interface: one cgo crossing
// per batch instead of one per value.
type arrowSink struct{}

var arrowEvents = func() *arrow.Schema {
	s, ts, b := arrow.BinaryTypes.String, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, arrow.FixedWidthTypes.Boolean
	i64, i32 := arrow.PrimitiveTypes.Int64, arrow.PrimitiveTypes.Int32
	bin := arrow.BinaryTypes.Binary
	types := []arrow.DataType{
		s, s, ts, s, s, s, // event_id type occurred_at source channel conversation_id
		s, s, s, // actor
		s, b, s, // message direction private intent
		s, s, s, s, i64, b, // handoff reason to_team next_action owner sla_s has_context
		s, i32, // survey
		s, b, s, s, // consent
		s, i32, i64, i64, ts, // kafka_topic kafka_partition kafka_offset batch_id ingested_at
		s, s, s, s, s, s, // identifier hashes
		s, bin, // subject_hash content
		i64, // content_hash
		s,   // actor_key
		i32, // handoff_items
	}
	fields := make([]arrow.Field, len(types))
	for i, t := range types {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}()

func (arrowSink) writeEvents(ctx context.Context, conn driver.Conn, batchID int64, ingestedAt time.Time, recs []Record, ps []personal) error {
	bld := array.NewRecordBuilder(memory.DefaultAllocator, arrowEvents)
	defer bld.Release()
	vals := make([]driver.Value, 0, eventColumns)
	for i := range recs {
		vals = row(&recs[i], &ps[i], batchID, ingestedAt, vals)
		for c, v := range vals {
			appendArrow(bld.Field(c), v)
		}
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	rdr, err := array.NewRecordReader(arrowEvents, []arrow.RecordBatch{rec})
	if err != nil {
		return fmt.Errorf("building arrow reader: %w", err)
	}
	defer rdr.Release()
	ar, err := duckdb.NewArrowFromConn(conn)
	if err != nil {
		return fmt.Errorf("opening arrow interface: %w", err)
	}
	view := fmt.Sprintf("arrow_batch_%d", batchID)
	release, err := ar.RegisterView(rdr, view)
	if err != nil {
		return fmt.Errorf("registering arrow view: %w", err)
	}
	defer release()
	ex := conn.(driver.ExecerContext)
	if _, err := ex.ExecContext(ctx, "insert into events select * from "+view, nil); err != nil {
		return fmt.Errorf("inserting from arrow view: %w", err)
	}
	if _, err := ex.ExecContext(ctx, "drop view if exists "+view, nil); err != nil {
		return fmt.Errorf("dropping arrow view: %w", err)
	}
	return nil
}

func appendArrow(b array.Builder, v driver.Value) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch x := v.(type) {
	case string:
		b.(*array.StringBuilder).Append(x)
	case bool:
		b.(*array.BooleanBuilder).Append(x)
	case int64:
		b.(*array.Int64Builder).Append(x)
	case int32:
		b.(*array.Int32Builder).Append(x)
	case time.Time:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp(x.UnixMicro()))
	case json.RawMessage:
		b.(*array.StringBuilder).Append(string(x))
	case []byte: // text (row.go) gives string columns as bytes too
		if sb, ok := b.(*array.StringBuilder); ok {
			sb.Append(string(x))
		} else {
			b.(*array.BinaryBuilder).Append(x)
		}
	case map[string]string:
		j, _ := json.Marshal(x) // a string map always marshals
		b.(*array.StringBuilder).Append(string(j))
	default:
		panic(fmt.Sprintf("warehouse: no arrow mapping for %T", v))
	}
}
