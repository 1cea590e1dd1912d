package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cxlake/cxlake/ingest"
)

// When ingest has stopped (a full disk in the demo), the progress line
// says so with the reason, and the wait for ingest ends with it, instead of
// showing 0 msg/s forever.
func TestProgressSaysWhenIngestStopped(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, 100, &ingest.Stats{})
	p.sent.Store(100)
	reason := "ingest stopped: writing batch of 100 messages: no space left on device"
	p.health = func() ingest.Health { return ingest.Health{State: ingest.StateStopped, Reason: reason} }
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := p.waitIngested(ctx)
	if err == nil || err.Error() != reason {
		t.Fatalf("waitIngested: %v, want the reason ingest stopped", err)
	}
	if !strings.Contains(out.String(), "INGEST STOPPED: "+reason) {
		t.Fatalf("progress line %q does not say ingest stopped", out.String())
	}
}
