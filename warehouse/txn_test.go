package warehouse

import (
	"context"
	"testing"
)

// A Txn takes several parts and commits them as one batch: one batch id,
// one ingest_batches row per partition covering all parts, and an id
// repeated in a later part counted as a duplicate.
func TestTxnCommitsPartsAsOneBatch(t *testing.T) {
	ctx := context.Background()
	w, tx := beginTxn(t)
	var sum Result
	// Parts [0,100), [50,150) and [150,200): 50 ids of the second repeat the first.
	for _, r := range [][2]int{{0, 100}, {50, 150}, {150, 200}} {
		res, err := tx.Append(ctx, batchOf(r[0], r[1], "t"))
		if err != nil {
			t.Fatal(err)
		}
		if res.BatchID != tx.BatchID() {
			t.Fatalf("part result carries batch %d, the transaction is %d", res.BatchID, tx.BatchID())
		}
		sum.Add(res)
	}
	if sum.Accepted != 200 || sum.Duplicates != 50 {
		t.Fatalf("parts: accepted %d duplicates %d, want 200 and 50", sum.Accepted, sum.Duplicates)
	}
	if n := count(t, w, "select count(*) from events"); n != 0 {
		t.Fatalf("before commit another connection sees %d events, want 0", n)
	}
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 200 || res.Duplicates != 50 || res.BatchID != 1 {
		t.Fatalf("commit result %+v, want batch 1, 200 accepted, 50 duplicates", res)
	}
	if n := count(t, w, "select count(*) from events where batch_id = 1"); n != 200 {
		t.Fatalf("events of batch 1 = %d, want 200", n)
	}
	// batchOf puts even offsets in partition 0 and odd ones in 1, and
	// declares (to-from)/2 messages per partition and part.
	rows, err := w.DB.Query(`select "partition", first_offset, last_offset, messages, accepted, duplicates
		from ingest_batches order by "partition"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var part, first, last, msgs, acc, dup int
		if err := rows.Scan(&part, &first, &last, &msgs, &acc, &dup); err != nil {
			t.Fatal(err)
		}
		if first != 0 || last != 199 || msgs != 125 || acc != 100 || dup != 25 {
			t.Errorf("partition %d: offsets %d-%d, %d messages, %d accepted, %d duplicates; want 0-199, 125, 100, 25",
				part, first, last, msgs, acc, dup)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("ingest_batches has %d rows, want one per partition (2)", n)
	}
}

// A rolled-back Txn releases every part's claims, and the next Txn may
// commit: a redelivery stores everything.
func TestTxnRollbackReleasesAllParts(t *testing.T) {
	ctx := context.Background()
	w, tx := beginTxn(t)
	for _, r := range [][2]int{{0, 100}, {100, 200}} {
		if _, err := tx.Append(ctx, batchOf(r[0], r[1], "t")); err != nil {
			t.Fatal(err)
		}
	}
	tx.Rollback()
	tx.Rollback() // a second rollback does nothing
	if _, err := tx.Append(ctx, batchOf(200, 300, "t")); err == nil {
		t.Fatal("append after rollback succeeded")
	}
	res, err := w.Write(ctx, batchOf(0, 200, "t"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 200 {
		t.Fatalf("redelivery after rollback: %+v, want 200 accepted", res)
	}
	if n := count(t, w, "select count(*) from events"); n != 200 {
		t.Fatalf("events = %d, want 200", n)
	}
}

// beginTxn opens a warehouse in a temporary folder and begins a Txn on it.
func beginTxn(t *testing.T) (*Warehouse, *Txn) {
	t.Helper()
	w, err := Open(context.Background(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	tx, err := w.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return w, tx
}

// The reason batches are large: a transaction holding a full row group
// (DuckDB's 122,880 rows) is written into the table file at commit, so the
// WAL only points at it and no checkpoint compresses it again. A small
// transaction's rows stay in memory and in the WAL until a checkpoint.
// (DuckDB behaviour this design relies on: if an upgrade changes it, this
// test says so.)
func TestLargeTxnIsWrittenToTheTableNotTheWAL(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 123,000 events")
	}
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const rowGroup = 122880
	small, err := w.Write(ctx, batchOf(0, 1000, "small"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.DB.Exec("checkpoint"); err != nil {
		t.Fatal(err)
	}
	tx, err := w.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for lo := 1000; lo < 1000+rowGroup+1000; lo += 8192 {
		if _, err := tx.Append(ctx, batchOf(lo, min(lo+8192, 1000+rowGroup+1000), "large")); err != nil {
			t.Fatal(err)
		}
	}
	large, err := tx.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, batchOf(1000+rowGroup+1000, 1000+rowGroup+2000, "small")); err != nil {
		t.Fatal(err)
	}
	// Rows of the large batch in row groups not yet on disk, and of the last small one.
	var largeInMemory, smallInMemory int
	err = w.DB.QueryRow(`
		with groups as (
			select row_group_id, max(count) as rows, bool_and(persistent) as on_disk
			from pragma_storage_info('events') group by row_group_id
		)
		select
			coalesce(sum(rows) filter (where not on_disk and row_group_id > 0 and rows >= ?), 0),
			coalesce(sum(rows) filter (where not on_disk), 0)
		from groups`, rowGroup).Scan(&largeInMemory, &smallInMemory)
	if err != nil {
		t.Fatal(err)
	}
	if largeInMemory != 0 {
		t.Errorf("%d rows of the %d-row batch %d are in memory, not in the table file", largeInMemory, large.Accepted, large.BatchID)
	}
	if smallInMemory == 0 {
		t.Errorf("the 1,000-row batch after batch %d is already on disk: the test no longer tells the two paths apart", small.BatchID)
	}
	if n := count(t, w, "select count(*) from events"); n != rowGroup+3000 {
		t.Fatalf("events = %d, want %d", n, rowGroup+3000)
	}
}
