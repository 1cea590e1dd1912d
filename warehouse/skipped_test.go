package warehouse

import (
	"context"
	"testing"
)

func TestSkippedAreStoredOnceWithTheirBatch(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	b := batchOf(0, 4, "evolution.shop.messages.update")
	b.Skipped = []Skip{
		{Topic: "evolution.shop.messages.update", Partition: 0, Offset: 10, Source: "evolution", EventName: "messages.update",
			ReasonCode: "no_timeline_event", Reason: "delivery status READ is not a timeline event"},
		{Topic: "evolution.shop.presence.update", Partition: 1, Offset: 3, Source: "evolution", EventName: "presence.update",
			ReasonCode: "unknown_event", Reason: "event presence.update is not decoded"},
	}
	res, err := w.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 2 {
		t.Fatalf("first write skipped %d, want 2", res.Skipped)
	}
	// A redelivered batch stores no skip twice.
	res, err = w.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 0 {
		t.Fatalf("redelivery stored %d skips again", res.Skipped)
	}
	if n := count(t, w, "select count(*) from skipped_messages"); n != 2 {
		t.Fatalf("%d skipped rows, want 2", n)
	}
	if n := count(t, w, "select count(*) from skipped_messages where reason_code = 'unknown_event' and event_name = 'presence.update' and batch_id = 1"); n != 1 {
		t.Fatal("the unknown event is not recorded with its name, reason and first batch")
	}
}
