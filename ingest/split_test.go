package ingest

import (
	"testing"

	"github.com/cxlake/cxlake/warehouse"
)

// A cut never separates the events of one message, the dead letters stay
// in the head, and the halves' spans count every message once.
func TestSplitAtKeepsMessagesWhole(t *testing.T) {
	rec := func(part int, off int64) warehouse.Record {
		return warehouse.Record{Topic: "t", Partition: part, Offset: off}
	}
	// Partition 0: messages 10, 11 (two events), 12; partition 1: message 5,
	// and a dead letter at 6.
	b := &warehouse.Batch{
		Records:     []warehouse.Record{rec(0, 10), rec(1, 5), rec(0, 11), rec(0, 11), rec(0, 12)},
		DeadLetters: []warehouse.DeadLetter{{Topic: "t", Partition: 1, Offset: 6}},
		Spans: []warehouse.Span{
			{Topic: "t", Partition: 0, FirstOffset: 10, LastOffset: 12, Messages: 3, HighWaterMark: 100},
			{Topic: "t", Partition: 1, FirstOffset: 5, LastOffset: 6, Messages: 2, HighWaterMark: 50},
		},
	}
	if h, tl := splitAt(b, 5); h != b || tl != nil {
		t.Fatal("a cut at the end split the batch")
	}
	// A cut after 3 records falls between the two events of message 11.
	head, tail := splitAt(b, 3)
	if len(head.Records) != 4 || len(tail.Records) != 1 || tail.Records[0].Offset != 12 {
		t.Fatalf("cut gave %d + %d records; want message 11 whole in the head (4 + 1)", len(head.Records), len(tail.Records))
	}
	if len(head.DeadLetters) != 1 || len(tail.DeadLetters) != 0 {
		t.Fatalf("dead letters: head %d tail %d, want 1 and 0", len(head.DeadLetters), len(tail.DeadLetters))
	}
	want := map[string]warehouse.Span{
		"head/0": {Topic: "t", Partition: 0, FirstOffset: 10, LastOffset: 11, Messages: 2, HighWaterMark: 100},
		"head/1": {Topic: "t", Partition: 1, FirstOffset: 5, LastOffset: 6, Messages: 2, HighWaterMark: 50},
		"tail/0": {Topic: "t", Partition: 0, FirstOffset: 12, LastOffset: 12, Messages: 1, HighWaterMark: 100},
	}
	got := map[string]warehouse.Span{}
	for _, s := range head.Spans {
		got["head/"+string(rune('0'+s.Partition))] = s
	}
	for _, s := range tail.Spans {
		got["tail/"+string(rune('0'+s.Partition))] = s
	}
	if len(got) != len(want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s span %+v, want %+v", k, got[k], w)
		}
	}
}
