package warehouse

import (
	"context"
	"testing"
	"time"
)

// The cutoff of a policy is the start of a UTC day: the one issue 28 gave,
// worked out by hand.
func TestRetentionCutoff(t *testing.T) {
	asOf := time.Date(2026, 12, 5, 15, 4, 0, 0, time.FixedZone("-03", -3*3600)) // 18:04Z
	for _, tc := range []struct {
		policy time.Duration
		want   time.Time
	}{
		{10 * 24 * time.Hour, time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)},
		{5 * 24 * time.Hour, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},
		{19 * time.Hour, time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)}, // 18:04Z - 19h = 12-04 23:04Z
	} {
		if got := RetentionCutoff(asOf, tc.policy); !got.Equal(tc.want) {
			t.Errorf("RetentionCutoff(%s, %s) = %s, want %s", asOf, tc.policy, got, tc.want)
		}
	}
}

// The ingest gate cuts where the retention run cuts: an event one second
// into the oldest day the run keeps is stored (with its content when the
// text policy keeps that day too), one second before it is not.
func TestGateCutsWhereTheRunCuts(t *testing.T) {
	ctx := context.Background()
	w, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	raw, text := 10*24*time.Hour, 5*24*time.Hour
	w.SetRetention(raw, text)
	now := time.Now()
	rawCut, textCut := RetentionCutoff(now, raw), RetentionCutoff(now, text)
	rec := func(id string, at time.Time) Record {
		return Record{Event: personalEvent(id, "+5511900000001", "", "texto", at), Topic: "t"}
	}
	res, err := w.Write(ctx, &Batch{StartedAt: now, Records: []Record{
		rec("raw-in", rawCut.Add(time.Second)),
		rec("raw-out", rawCut.Add(-time.Second)),
		rec("text-in", textCut.Add(time.Second)),
		rec("text-out", textCut.Add(-time.Second)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.Expired != 1 {
		t.Fatalf("accepted %d, expired %d; want 3 and 1 (only raw-out is older than the raw cutoff)", res.Accepted, res.Expired)
	}
	if n := count(t, w, `select count(*) from events where event_id = 'raw-out'`); n != 0 {
		t.Error("an event before the raw-events cutoff was stored")
	}
	if n := count(t, w, `select count(*) from events where event_id = 'text-in' and content is not null`); n != 1 {
		t.Error("an event inside the kept message-text day lost its content")
	}
	if n := count(t, w, `select count(*) from events where event_id in ('raw-in', 'text-out') and content is null`); n != 2 {
		t.Error("events before the message-text cutoff kept their content")
	}
}
