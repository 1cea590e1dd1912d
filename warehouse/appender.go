package warehouse

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

func init() { sinks["appender"] = func() sink { return appenderSink{} } }

// appenderSink writes through duckdb-go's table Appender, DuckDB's fastest
// row-wise path: rows are buffered in data chunks and appended to the table.
type appenderSink struct{}

func (appenderSink) writeEvents(ctx context.Context, conn driver.Conn, batchID int64, ingestedAt time.Time, recs []Record, ps []personal) error {
	a, err := duckdb.NewAppenderFromConn(conn, "", "events")
	if err != nil {
		return fmt.Errorf("creating appender: %w", err)
	}
	vals := make([]driver.Value, 0, eventColumns)
	for i := range recs {
		vals = row(&recs[i], &ps[i], batchID, ingestedAt, vals)
		if err := a.AppendRow(vals...); err != nil {
			_ = a.Close()
			return fmt.Errorf("appending event at %s/%d@%d: %w", recs[i].Topic, recs[i].Partition, recs[i].Offset, err)
		}
	}
	if err := a.CloseWithCancel(ctx); err != nil {
		return fmt.Errorf("flushing appender: %w", err)
	}
	return nil
}
