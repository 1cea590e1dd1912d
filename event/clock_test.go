package event_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
)

// The accepted range of occurred_at (DESIGN.md, "Rules at the edges"): from
// 2000-01-01 to the ingest clock plus the allowed skew, default 5 minutes.
func TestOccurredAtRange(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cases := []struct {
		ts   string
		skew time.Duration
		code string // "" means accepted
	}{
		{ts: "2026-12-05T12:00:00Z"},
		{ts: "2026-12-05T12:05:00Z"},                                       // exactly the skew: accepted
		{ts: "2026-12-05T12:05:00.000000001Z", code: event.CodeFutureTime}, // one nanosecond past it
		{ts: "2026-12-05T12:10:00Z", code: event.CodeFutureTime},           // 10 minutes ahead
		{ts: "2026-12-05T09:09:00-03:00", skew: 10 * time.Minute},          // 12:09Z, within a 10-minute skew
		{ts: "2027-12-05T12:00:00Z", code: event.CodeFutureTime},           // a year ahead
		{ts: "9999-12-31T23:30:00-03:00", code: event.CodeFutureTime},      // year 10000 in UTC
		{ts: "2000-01-01T00:00:00Z"},
		{ts: "1999-12-31T23:59:59.999Z", code: event.CodeTimeOutOfRange},
		{ts: "2000-01-01T01:00:00+02:00", code: event.CodeTimeOutOfRange}, // 1999-12-31T23:00Z
		{ts: "0001-01-01T00:00:00Z", code: event.CodeTimeOutOfRange},
	}
	for _, tc := range cases {
		dec := event.Decoder{Now: clock, MaxFutureSkew: tc.skew}
		_, err := dec.Decode(build(t, event.TypeMessage, set("occurred_at", tc.ts)))
		if tc.code == "" {
			if err != nil {
				t.Errorf("occurred_at %s: %v, want accepted", tc.ts, err)
			}
			continue
		}
		var rej *event.RejectError
		if !errors.As(err, &rej) || rej.Code != tc.code || rej.Field != "occurred_at" {
			t.Errorf("occurred_at %s: got %v, want a %s rejection of occurred_at", tc.ts, err, tc.code)
		}
	}
}

// The zero Decoder judges against the real clock.
func TestOccurredAtDefaultClock(t *testing.T) {
	ahead := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	_, err := event.Decoder{}.Decode(build(t, event.TypeMessage, set("occurred_at", ahead)))
	var rej *event.RejectError
	if !errors.As(err, &rej) || rej.Code != event.CodeFutureTime {
		t.Fatalf("an hour ahead of time.Now: got %v, want %s", err, event.CodeFutureTime)
	}
}

// RFC 3339 forms Go's parser refuses but the RFC allows: a leap second
// (stored as the last nanosecond of its minute) and lower-case t and z
// (§5.6 NOTE), and a space for the T.
func TestRFC3339Forms(t *testing.T) {
	cases := map[string]time.Time{
		"2016-12-31T23:59:60Z":         time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"2016-12-31T23:59:60.5Z":       time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"2016-12-31T20:59:60-03:00":    time.Date(2016, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"2026-03-12t02:30:00z":         time.Date(2026, 3, 12, 2, 30, 0, 0, time.UTC),
		"2026-03-12t02:30:00.25+01:00": time.Date(2026, 3, 12, 1, 30, 0, 250000000, time.UTC),
		"2026-03-12 02:30:00Z":         time.Date(2026, 3, 12, 2, 30, 0, 0, time.UTC),
	}
	for ts, want := range cases {
		ev, err := event.Decoder{}.Decode(build(t, event.TypeMessage, set("occurred_at", ts)))
		if err != nil {
			t.Errorf("occurred_at %s: %v", ts, err)
			continue
		}
		if !ev.OccurredAt.Equal(want) {
			t.Errorf("occurred_at %s: got %s, want %s", ts, ev.OccurredAt.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
		}
	}
	// Seconds 60 outside minute 59 is no leap second.
	for _, ts := range []string{"2016-12-31T23:58:60Z", "2016-12-31T23:59:61Z"} {
		_, err := event.Decoder{}.Decode(build(t, event.TypeMessage, set("occurred_at", ts)))
		var rej *event.RejectError
		if !errors.As(err, &rej) || rej.Code != event.CodeBadTime {
			t.Errorf("occurred_at %s: got %v, want %s", ts, err, event.CodeBadTime)
		}
	}
}
