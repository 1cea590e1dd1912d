package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/warehouse"
)

// cxlake load ends its transactions on a row group as the consumer does,
// and counts every line once, including the dead letter in the cut part.
func TestLoadEndsTransactionsOnARowGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 130,000 lines")
	}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	const good = 130000
	var in bytes.Buffer
	for i := 0; i < good; i++ {
		if i == warehouse.RowGroupRows-10 {
			in.WriteString("{not json\n") // lands in the part that is cut
		}
		in.Write(canonical(i))
		in.WriteByte('\n')
	}
	var stats Stats
	if err := Load(ctx, wh, &in, "big.ndjson", 1_000_000, 1<<20, &stats); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := wh.DB.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if n := count("select count(*) from events where batch_id = 1"); n != warehouse.RowGroupRows {
		t.Errorf("the first transaction holds %d events, want a row group (%d)", n, warehouse.RowGroupRows)
	}
	if n := count("select count(*) from events"); n != good {
		t.Errorf("events = %d, want %d", n, good)
	}
	if n := count("select count(*) from dead_letters"); n != 1 {
		t.Errorf("dead letters = %d, want 1", n)
	}
	if n := count("select sum(messages) from ingest_batches"); n != good+1 {
		t.Errorf("ingest_batches counts %d lines, want %d", n, good+1)
	}
	if n := stats.Messages.Load(); n != good+1 || stats.Batches.Load() != 2 {
		t.Errorf("stats: %d lines in %d batches, want %d in 2", n, stats.Batches.Load(), good+1)
	}
}

// hugeLines is a reader of n lines of size bytes each ('{' and then 'x'),
// made as it is read, so that the test itself holds none of them.
type hugeLines struct {
	n, size, line, pos int
}

func (h *hugeLines) Read(p []byte) (int, error) {
	if h.line >= h.n {
		return 0, io.EOF
	}
	i := 0
	for i < len(p) && h.line < h.n {
		switch {
		case h.pos == 0:
			p[i] = '{'
		case h.pos == h.size:
			p[i] = '\n'
		default:
			p[i] = 'x'
		}
		i++
		if h.pos++; h.pos > h.size {
			h.line, h.pos = h.line+1, 0
		}
	}
	return i, nil
}

// cxlake load does not read a line whole before its size check: lines of
// 20 MB each cost the loader about the size limit, not the line, and each
// is a too_large dead letter that names its full size.
func TestLoadBoundsTheLineItReads(t *testing.T) {
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	const lines, size, limit = 5, 20 << 20, 256 << 10
	var in bytes.Buffer
	in.Write(canonical(1))
	in.WriteString("\r\n")
	r := io.MultiReader(&in, &hugeLines{n: lines, size: size}, bytes.NewReader(append(canonical(2), '\n')))

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var stats Stats
	if err := Load(ctx, wh, r, "huge.ndjson", 1000, limit, &stats); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// Reading the 100 MB whole would allocate at least that; the bounded
	// reader allocates a small multiple of the limit per line.
	if got := after.TotalAlloc - before.TotalAlloc; got > 40<<20 {
		t.Errorf("loading %d lines of %d MB allocated %d MB", lines, size>>20, got>>20)
	}
	var n int
	if err := wh.DB.QueryRow(`select count(*) from events`).Scan(&n); err != nil || n != 2 {
		t.Errorf("events = %d (%v), want the 2 valid lines around the huge ones", n, err)
	}
	rows, err := wh.DB.Query(`select reason_code, reason, raw_size from dead_letters order by "offset"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var code, reason string
		var rawSize int64
		if err := rows.Scan(&code, &reason, &rawSize); err != nil {
			t.Fatal(err)
		}
		got++
		if want := fmt.Sprintf("line is %d bytes, over the %d-byte limit", size, limit); code != "too_large" || !strings.Contains(reason, want) {
			t.Errorf("dead letter %s: %q, want too_large and %q", code, reason, want)
		}
	}
	if got != lines {
		t.Errorf("%d dead letters, want %d", got, lines)
	}
}

func TestReadLine(t *testing.T) {
	br := bufio.NewReaderSize(strings.NewReader("abc\r\nabcdef\n\nabcdefgh\r\nxy"), 16)
	for _, want := range []struct {
		b    string
		size int64
	}{{"abc", 3}, {"abcde", 6}, {"", 0}, {"abcde", 9}, {"xy", 2}} {
		b, size, _ := readLine(br, 4)
		if string(b) != want.b || size != want.size {
			t.Errorf("readLine = %q, %d; want %q, %d", b, size, want.b, want.size)
		}
	}
}
