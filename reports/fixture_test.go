package reports

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// The warehouse the report tests read: simulated traffic through the same
// assemble-and-write path as ingest, the models built over it. Days and
// channels differ strongly: a quiet month (about 20 conversations a day over
// nine channels, email answered in hours, voice in seconds, chat in minutes)
// and a 3-day spike of about 25 times that volume in its middle, so an
// average of daily figures is far from the figure of the period.

var (
	fixtureOnce sync.Once
	fixtureWH   *warehouse.Warehouse
	fixtureErr  error
	fixtureDir  string
)

var testKey = []byte("reports-test-key-0123456789abcdef")

// fixtureStart is the quiet month's first day; the spike is on days 10-12.
var fixtureStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureWH != nil {
		fixtureWH.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

func fixture(t *testing.T) *warehouse.Warehouse {
	t.Helper()
	fixtureOnce.Do(func() { fixtureWH, fixtureErr = buildFixture(context.Background()) })
	if fixtureErr != nil {
		t.Fatalf("building the test warehouse: %v", fixtureErr)
	}
	return fixtureWH
}

func buildFixture(ctx context.Context) (*warehouse.Warehouse, error) {
	dir, err := os.MkdirTemp("", "cxlake-reports-")
	if err != nil {
		return nil, err
	}
	fixtureDir = dir
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{HashKey: testKey})
	if err != nil {
		return nil, err
	}
	var msgs []ingest.Message
	for _, part := range []struct {
		cfg      simulate.Config
		messages int
	}{
		{simulate.Config{Seed: 11, Start: fixtureStart, Days: 30, PerDay: 20, MalformedRate: -1, DuplicateRate: -1}, 9000},
		{simulate.Config{Seed: 12, Start: fixtureStart.AddDate(0, 0, 9), Days: 3, PerDay: 500, MalformedRate: -1, DuplicateRate: -1}, 22000},
	} {
		gen := simulate.New(part.cfg)
		for i := 0; i < part.messages; i++ {
			m := gen.Next()
			msgs = append(msgs, ingest.Message{Topic: "cx.events", Partition: 0, Offset: int64(len(msgs)), Key: m.Key, Value: m.Value})
		}
	}
	var asm ingest.Assembler
	for lo := 0; lo < len(msgs); lo += 2000 {
		b := asm.Assemble(msgs[lo:min(lo+2000, len(msgs))])
		b.StartedAt = time.Now()
		if _, err := wh.Write(ctx, b); err != nil {
			return nil, fmt.Errorf("writing simulated batch: %w", err)
		}
	}
	// Email's SLA runs on business hours (with no schedule, every hour is
	// one, so the figures are those of elapsed time): the report says so.
	cfg := models.Config{HashKey: testKey, SLAClock: map[string]models.Clock{"email": models.SLAOnBusinessHours}, Cost: models.IllustrativeCostModel()}
	if _, err := models.Rebuild(ctx, wh.DB, cfg); err != nil {
		return nil, fmt.Errorf("building the models: %w", err)
	}
	return wh, nil
}
