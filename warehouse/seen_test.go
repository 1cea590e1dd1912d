package warehouse

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/zeebo/xxh3"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/privacy"
)

// TestReusedEventIDIsADeadLetter: an event_id that comes back with other
// content is a dead letter naming the rule, in the same batch, in a later
// one and after a restart; an identical redelivery, in another envelope
// (other raw bytes, other unknown fields), stays a duplicate.
func TestReusedEventIDIsADeadLetter(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := w.Write(ctx, batchOf(0, 10, "t")); err != nil || res.Accepted != 10 {
		t.Fatalf("first write: %+v, %v", res, err)
	}

	// Redelivered in another envelope: same decoded event, other raw
	// bytes and unknown fields (Evolution's messages.upsert and send.message).
	same := batchOf(0, 2, "t")
	for i := range same.Records {
		same.Records[i].Offset += 100
		same.Records[i].Event.Raw = []byte(`{"event":"send.message"}`)
		same.Records[i].Event.Extra = []byte(`{"evolution":{"event":"send.message"}}`)
	}
	// Reused: the id of event 3 with another text; the id of event 4 with
	// another time; and in the same batch a new id twice with two contents.
	text := testEvent(3)
	text.Message = &event.Message{Direction: "inbound", Text: "outro texto"}
	when := testEvent(4)
	when.OccurredAt = when.OccurredAt.Add(1)
	fresh, freshOther := testEvent(50), testEvent(50)
	freshOther.Actor = event.Actor{Kind: "agent"}
	b := &Batch{Records: append(same.Records,
		Record{Event: text, Topic: "t", Partition: 0, Offset: 200},
		Record{Event: when, Topic: "t", Partition: 1, Offset: 201},
		Record{Event: fresh, Topic: "t", Partition: 0, Offset: 202},
		Record{Event: freshOther, Topic: "t", Partition: 1, Offset: 203},
	)}
	res, err := w.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 1 || res.Duplicates != 2 || res.DeadLetters != 3 {
		t.Fatalf("write: %+v, want 1 accepted (the new id), 2 duplicates (the redeliveries), 3 dead letters", res)
	}
	rows, err := w.DB.QueryContext(ctx, `select "offset", reason_code, reason from dead_letters order by "offset"`)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for rows.Next() {
		var off int64
		var code, reason string
		if err := rows.Scan(&off, &code, &reason); err != nil {
			t.Fatal(err)
		}
		offsets = append(offsets, off)
		if code != event.CodeEventIDReused || !strings.Contains(reason, "event_id") || strings.Contains(reason, "outro") || strings.Contains(reason, "ev-") {
			t.Errorf("dead letter at %d: %s %q", off, code, reason)
		}
	}
	rows.Close()
	if len(offsets) != 3 || offsets[0] != 200 || offsets[1] != 201 || offsets[2] != 203 {
		t.Errorf("dead letters at offsets %v, want 200 201 203", offsets)
	}
	if n := count(t, w, `select count(*) from events where content_hash is null or content_hash = 0`); n != 0 {
		t.Errorf("%d events stored without their content hash", n)
	}
	w.Close()

	// After a restart the stored hashes decide.
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	again := testEvent(5)
	again.Contact.Phone = "+5511900000099"
	b = &Batch{Records: []Record{
		{Event: testEvent(5), Topic: "t", Partition: 1, Offset: 300},
		{Event: again, Topic: "t", Partition: 0, Offset: 301},
	}}
	res, err = w.Write(ctx, b)
	if err != nil || res.Accepted != 0 || res.Duplicates != 1 || res.DeadLetters != 1 {
		t.Fatalf("after reopening: %+v, %v; want 1 duplicate and 1 dead letter", res, err)
	}
	// A row stored before the content was kept (null) is a duplicate
	// whatever comes.
	if _, err := w.DB.ExecContext(ctx, `update events set content_hash = null where event_id = 'ev-0000006'`); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	old := testEvent(6)
	old.Message = &event.Message{Direction: "outbound", Text: "x"}
	res, err = w.Write(ctx, &Batch{Records: []Record{{Event: old, Topic: "t", Partition: 0, Offset: 400}}})
	if err != nil || res.Duplicates != 1 || res.DeadLetters != 0 {
		t.Fatalf("an id stored without content hash: %+v, %v; want a duplicate", res, err)
	}
}

// BenchmarkSeenMemory reports the heap the seen set takes per stored id at
// 1M ids, as loadSeen sizes it: go test ./warehouse -run '^$' -bench
// SeenMemory -benchtime 1x.
func BenchmarkSeenMemory(b *testing.B) {
	const n = 1_000_000
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	for range b.N {
		before := heap()
		s := make(seenIDs, n+n/4)
		for i := range n {
			s[xxh3.HashString128(strconv.Itoa(i))] = uint64(i) | 1
		}
		after := heap()
		runtime.KeepAlive(s)
		b.ReportMetric(float64(after-before)/n, "B/id")
		b.ReportMetric(float64(after-before)/1e6, "MB/1M-ids")
	}
}

// BenchmarkContentSum is the cost per event of the canonical content hash.
func BenchmarkContentSum(b *testing.B) {
	h := privacy.NewHasher([]byte("0123456789abcdef0123456789abcdef"))
	recs := batchOf(0, 1000, "t").Records
	b.ResetTimer()
	for range b.N {
		contentSums(h, recs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/event")
}
