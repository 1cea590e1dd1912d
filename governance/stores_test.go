package governance_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/storetest"
	"github.com/cxlake/cxlake/warehouse"
)

// storeFixture writes events to a new warehouse and publishes them to its lake.
func storeFixture(t *testing.T, events []event.Event) *warehouse.Warehouse {
	t.Helper()
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, t.TempDir(), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	b := &warehouse.Batch{StartedAt: time.Now()}
	for i, e := range events {
		b.Records = append(b.Records, warehouse.Record{Event: e, Topic: "storetest", Offset: int64(i)})
	}
	if _, err := wh.Write(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	return wh
}

func TestEventsTableConforms(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T, events []event.Event) storetest.Fixture {
		wh := storeFixture(t, events)
		return storetest.Fixture{Store: governance.EventsTable{Q: wh.DB}, Hash: wh.Hasher().Identifier}
	})
}

func TestEventsTableWholePersonConforms(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T, events []event.Event) storetest.Fixture {
		wh := storeFixture(t, events)
		return storetest.Fixture{Store: governance.EventsTable{Q: wh.DB, Whole: true}, Hash: wh.Hasher().Identifier}
	})
}

func TestLakeWholePersonConforms(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T, events []event.Event) storetest.Fixture {
		wh := storeFixture(t, events)
		return storetest.Fixture{Store: governance.Lake{Dir: wh.Dir, Q: wh.DB, Whole: true}, Hash: wh.Hasher().Identifier}
	})
}

func TestLakeConforms(t *testing.T) {
	storetest.TestStore(t, func(t *testing.T, events []event.Event) storetest.Fixture {
		wh := storeFixture(t, events)
		return storetest.Fixture{Store: governance.Lake{Dir: wh.Dir, Q: wh.DB}, Hash: wh.Hasher().Identifier}
	})
}

// A partition is compared as a date: date=10000-01-01 (a year-9999 time with
// a negative offset, accepted before the decoder bounded occurred_at) is not
// older than 2026, and a name that is no date is left alone.
func TestLakeExpireComparesPartitionsAsDates(t *testing.T) {
	wh := storeFixture(t, storetest.Events())
	root := filepath.Join(wh.Dir, "lake", "events")
	oldest := "date=" + storetest.Base.AddDate(0, 0, -6).Format(time.DateOnly)
	if err := os.Rename(filepath.Join(root, oldest), filepath.Join(root, "date=10000-01-01")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "date=not-a-day"), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := (governance.Lake{Dir: wh.Dir, Q: wh.DB}).Expire(context.Background(), storetest.Base); err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"date=10000-01-01", "date=not-a-day"} {
		if _, err := os.Stat(filepath.Join(root, keep)); err != nil {
			t.Errorf("%s: %v; a partition that is not older than the cutoff must stay", keep, err)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "date="+storetest.Base.AddDate(0, 0, -1).Format(time.DateOnly))); err == nil {
		t.Error("a partition older than the cutoff stayed")
	}
}
