package warehouse

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

func testEvent(i int) event.Event {
	return event.Event{
		EventID: fmt.Sprintf("ev-%07d", i), Type: event.TypeMessage,
		OccurredAt: time.Date(2026, 11, 1+i%3, 12, 0, i%60, 0, time.UTC),
		Source:     "test", Channel: []string{"whatsapp", "email", "webchat"}[i%3],
		ConversationID: fmt.Sprintf("c-%d", i/4),
		Contact:        event.Identity{Phone: fmt.Sprintf("+55119%08d", i/4), IDs: map[string]string{"instagram": "x"}},
		Actor:          event.Actor{Kind: "customer"},
		Message:        &event.Message{Direction: "inbound", Text: "Meu pedido não chegou"},
		Raw:            []byte(`{"schema":"cx.event/v1"}`),
	}
}

func batchOf(from, to int, topic string) *Batch {
	b := &Batch{StartedAt: time.Now()}
	for i := from; i < to; i++ {
		b.Records = append(b.Records, Record{Event: testEvent(i), Topic: topic, Partition: i % 2, Offset: int64(i)})
	}
	for p := 0; p < 2; p++ {
		b.Spans = append(b.Spans, Span{Topic: topic, Partition: p, FirstOffset: int64(from), LastOffset: int64(to - 1), Messages: (to - from) / 2})
	}
	return b
}

func count(t *testing.T, w *Warehouse, q string) int {
	t.Helper()
	var n int
	if err := w.DB.QueryRow(q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestWriteIsIdempotent(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := w.Write(ctx, batchOf(0, 100, "t"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 100 || res.Duplicates != 0 {
		t.Fatalf("first write: %+v, want 100 accepted", res)
	}
	// A redelivery overlapping the first batch, with one event repeated inside it.
	b := batchOf(50, 150, "t")
	b.Records = append(b.Records, b.Records[len(b.Records)-1])
	b.DeadLetters = []DeadLetter{{Topic: "t", Partition: 0, Offset: 999, Raw: []byte("{"), ReasonCode: event.CodeNotJSON, Reason: "payload is not JSON"}}
	res, err = w.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 50 || res.Duplicates != 51 || res.DeadLetters != 1 {
		t.Fatalf("second write: %+v, want 50 accepted, 51 duplicates, 1 dead letter", res)
	}
	// The same dead letter redelivered is not stored twice.
	res, err = w.Write(ctx, &Batch{DeadLetters: b.DeadLetters, Spans: []Span{{Topic: "t", FirstOffset: 999, LastOffset: 999, Messages: 1}}})
	if err != nil || res.DeadLetters != 0 {
		t.Fatalf("dead letter redelivery: %+v, %v", res, err)
	}
	if n := count(t, w, "select count(*) from events"); n != 150 {
		t.Fatalf("events = %d, want 150", n)
	}
	if n := count(t, w, "select count(distinct event_id) from events"); n != 150 {
		t.Fatalf("distinct events = %d, want 150", n)
	}
	if n := count(t, w, "select count(*) from dead_letters"); n != 1 {
		t.Fatalf("dead_letters = %d, want 1", n)
	}
	if n := count(t, w, "select sum(accepted) from ingest_batches"); n != 150 {
		t.Fatalf("ingest_batches accepted sum = %d, want 150", n)
	}
	if n := count(t, w, "select sum(duplicates) from ingest_batches"); n != 51 {
		t.Fatalf("ingest_batches duplicates sum = %d, want 51", n)
	}
}

func TestReopenKeepsBatchSequence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, batchOf(0, 10, "t")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	res, err := w.Write(ctx, batchOf(10, 20, "t"))
	if err != nil {
		t.Fatal(err)
	}
	if res.BatchID != 2 || res.Accepted != 10 {
		t.Fatalf("after reopen: %+v, want batch 2 with 10 accepted", res)
	}
}

func TestPublishWritesHivePartitionedParquet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Write(ctx, batchOf(0, 30, "t")); err != nil {
		t.Fatal(err)
	}
	p, err := w.Publish(ctx)
	if err != nil || p.Events != 30 {
		t.Fatalf("publish: %+v, %v", p, err)
	}
	if _, err := w.Write(ctx, batchOf(30, 60, "t")); err != nil {
		t.Fatal(err)
	}
	if p, err = w.Publish(ctx); err != nil || p.Events != 30 {
		t.Fatalf("second publish: %+v, %v", p, err)
	}
	if p, err = w.Publish(ctx); err != nil || p.Events != 0 {
		t.Fatalf("publish with nothing new: %+v, %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "lake", "events", "date=2026-11-01", "channel=whatsapp")); err != nil {
		t.Fatalf("partition folder missing: %v", err)
	}
	glob := filepath.Join(dir, "lake", "events", "**", "*.parquet")
	var n, chans int
	q := fmt.Sprintf("select count(*), count(distinct channel) from read_parquet('%s', hive_partitioning = true)", glob)
	if err := w.DB.QueryRow(q).Scan(&n, &chans); err != nil {
		t.Fatal(err)
	}
	if n != 60 || chans != 3 {
		t.Fatalf("lake has %d events over %d channels, want 60 over 3", n, chans)
	}
}

// The sinks append inside the batch transaction: a rollback (a batch that
// failed after its events were appended) must leave no rows behind, or a
// redelivery would find its ids missing from the seen set but present in the table.
func TestSinksRollBackWithTheBatch(t *testing.T) {
	for _, name := range sinkNames() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w, err := Open(ctx, t.TempDir(), Options{Sink: name})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			conn, err := w.DB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, "begin transaction"); err != nil {
				t.Fatal(err)
			}
			recs := batchOf(0, 50, "t").Records
			if err := conn.Raw(func(dc any) error {
				return sinks[name]().writeEvents(ctx, dc.(driver.Conn), 1, time.Now(), recs, make([]personal, len(recs)))
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "rollback"); err != nil {
				t.Fatal(err)
			}
			if n := count(t, w, "select count(*) from events"); n != 0 {
				t.Fatalf("%d events survived the rollback", n)
			}
		})
	}
}

// JSON columns must hold JSON objects, not JSON strings containing objects.
func TestJSONColumnsHoldObjects(t *testing.T) {
	for _, name := range sinkNames() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			w, err := Open(ctx, t.TempDir(), Options{Sink: name})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			b := batchOf(0, 1, "t")
			b.Records[0].Event.Extra = []byte(`{"trace_id":"abc"}`)
			b.Records[0].Event.Handoff = &event.Handoff{Summary: "s", Fields: []byte(`{"order_id":"1234"}`)}
			if _, err := w.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
			// The hash map is a JSON column; extra and the handoff fields are
			// sealed and come back as objects through cx_content.
			var ids, extra, fields, order string
			if err := w.DB.QueryRow(`select json_type(contact_ids_hash), json_type(c->'extra'), json_type(c->'handoff_fields'),
				c->'handoff_fields'->>'order_id'
				from (select contact_ids_hash, cx_content(event_id, subject_hash, occurred_at, content)::json as c from events)`).
				Scan(&ids, &extra, &fields, &order); err != nil {
				t.Fatal(err)
			}
			if ids != "OBJECT" || extra != "OBJECT" || fields != "OBJECT" || order != "1234" {
				t.Fatalf("json columns: types %s %s %s, value %q", ids, extra, fields, order)
			}
		})
	}
}

func TestIdentifierHashesAreKeyedAndStable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef")
	w, err := Open(ctx, dir, Options{HashKey: key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctx, batchOf(0, 8, "t")); err != nil {
		t.Fatal(err)
	}
	var phone, phoneHash, idsHash string
	if err := w.DB.QueryRow(`select cx_identifier_value(i.identifier_hash, i.sealed_value), e.contact_phone_hash, e.contact_ids_hash::varchar
		from events e join identifiers i on i.identifier_hash = e.contact_phone_hash where event_id = 'ev-0000000'`).
		Scan(&phone, &phoneHash, &idsHash); err != nil {
		t.Fatal(err)
	}
	// Expected values computed independently of the warehouse: HMAC-SHA256
	// over the domain, a zero byte and the length-prefixed kind and value.
	want := func(kind, value string) string {
		m := hmac.New(sha256.New, key)
		fmt.Fprintf(m, "cxlake/identifier/v1\x00%d:%s%d:%s", len(kind), kind, len(value), value)
		return hex.EncodeToString(m.Sum(nil)[:16])
	}
	if phoneHash != want("phone", phone) {
		t.Errorf("contact_phone_hash = %s, want %s", phoneHash, want("phone", phone))
	}
	if wantIDs := `{"instagram":"` + want("id:instagram", "x") + `"}`; idsHash != wantIDs {
		t.Errorf("contact_ids_hash = %s, want %s", idsHash, wantIDs)
	}
	if strings.Contains(phoneHash, strings.TrimPrefix(phone, "+")) {
		t.Errorf("hash %s contains the phone", phoneHash)
	}
	w.Close()

	// Another key cannot open the directory: its hashes would not match.
	_, err = Open(ctx, dir, Options{HashKey: []byte("another key, 16 bytes or more")})
	var km *KeyMismatchError
	if !errors.As(err, &km) {
		t.Fatalf("opening with another key: %v, want a KeyMismatchError", err)
	}
}

// Overlapping writes store every event once, and batches become visible in
// batch-id order: a reader never sees batch N without every batch before it.
func TestConcurrentWritesCommitInOrder(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const writers, perWriter, size = 4, 8, 500
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readerErr <- nil
				return
			default:
			}
			var maxID, distinct int64
			if err := w.DB.QueryRow(`select coalesce(max(batch_id), 0), count(distinct batch_id) from ingest_batches`).Scan(&maxID, &distinct); err != nil {
				readerErr <- err
				return
			}
			if maxID != distinct {
				readerErr <- fmt.Errorf("reader saw batch %d but only %d batches: a later batch committed first", maxID, distinct)
				return
			}
		}
	}()
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		go func() {
			for i := 0; i < perWriter; i++ {
				// Writers overlap by half a batch, so the same ids race.
				from := (g*perWriter + i) * size / 2
				if _, err := w.Write(ctx, batchOf(from, from+size, fmt.Sprintf("t%d", g))); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < writers; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	// Batches cover ids [0, (writers*perWriter-1)*size/2 + size).
	want := (writers*perWriter-1)*size/2 + size
	if n := count(t, w, "select count(*) from events"); n != want {
		t.Fatalf("events = %d, want %d", n, want)
	}
	if n := count(t, w, "select count(distinct event_id) from events"); n != want {
		t.Fatalf("distinct events = %d, want %d", n, want)
	}
}

// A batch that fails to commit releases its event ids: the redelivered
// batch stores them.
func TestFailedWriteReleasesItsEvents(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.Write(cancelled, batchOf(0, 100, "t")); err == nil {
		t.Fatal("write with a cancelled context succeeded")
	}
	res, err := w.Write(ctx, batchOf(0, 100, "t"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 100 {
		t.Fatalf("redelivery after a failed write: %+v, want 100 accepted", res)
	}
	if n := count(t, w, "select count(*) from events"); n != 100 {
		t.Fatalf("events = %d, want 100", n)
	}
}
