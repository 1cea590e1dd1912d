package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

// The demo-like warehouse every panel test reads: simulated traffic through
// the same assemble-and-write path as ingest (three partitions, with the
// high-water marks a consumer would see, so lag is recorded), governance's
// tables filled by governance itself (consent enforcement, an export, an
// erasure, a retention run, an audit verification), the models built over
// it, and the SQL gateway in front of it.

var testKey = []byte("dashboards-test-key-0123456789ab")

const fixtureMessages = 4000

type demo struct {
	wh    *warehouse.Warehouse
	gw    *gateway.Server
	audit *audit.Log
	// With audit, the gateway's auditors (paneldb_test.go, startGateway).
	table  *gateway.TableAuditor
	chain  *gateway.ChainAuditor
	losses *gateway.TableLossRecorder
	// days spans the simulated conversations (UTC).
	firstDay, lastDay time.Time
	// ingestedAt is when the batches were written (the pipeline's minute).
	ingestedAt time.Time
}

var (
	fixtureDemo *demo
	fixtureErr  error
	fixtureDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDemo != nil {
		if fixtureDemo.gw != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			fixtureDemo.gw.Shutdown(ctx)
			cancel()
		}
		if fixtureDemo.audit != nil {
			fixtureDemo.audit.Close()
		}
		fixtureDemo.wh.Close()
	}
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// demoWarehouse builds the fixture once per test binary.
func demoWarehouse(t *testing.T) *demo {
	t.Helper()
	if fixtureDemo == nil && fixtureErr == nil {
		fixtureDemo, fixtureErr = buildDemo(context.Background())
	}
	if fixtureErr != nil {
		t.Fatalf("building the demo warehouse: %v", fixtureErr)
	}
	return fixtureDemo
}

func buildDemo(ctx context.Context) (*demo, error) {
	dir, err := os.MkdirTemp("", "cxlake-dashboards-")
	if err != nil {
		return nil, err
	}
	fixtureDir = dir
	wh, err := warehouse.Open(ctx, dir, warehouse.Options{HashKey: testKey})
	if err != nil {
		return nil, err
	}
	d := &demo{wh: wh, ingestedAt: time.Now().UTC()}

	// Three partitions; each message knows its partition's final size as
	// the high-water mark, as a consumer reading a full topic would.
	gen := simulate.New(simulate.Config{Seed: 7, PerDay: simulate.PerDayFor(fixtureMessages, 30)})
	shared := sharedPhoneValues(time.Now().UTC().Add(-48 * time.Hour))
	msgs := make([]ingest.Message, fixtureMessages+len(shared))
	var next [3]int64
	for i := range msgs {
		var key, value []byte
		if i < fixtureMessages {
			m := gen.Next()
			key, value = m.Key, m.Value
		} else {
			value = shared[i-fixtureMessages]
		}
		p := i % 3
		msgs[i] = ingest.Message{Topic: "cx.events", Partition: p, Offset: next[p], Key: key, Value: value}
		next[p]++
	}
	for i := range msgs {
		msgs[i].HighWaterMark = next[msgs[i].Partition]
	}
	var asm ingest.Assembler
	for lo := 0; lo < len(msgs); lo += 500 {
		b := asm.Assemble(msgs[lo:min(lo+500, len(msgs))])
		b.StartedAt = time.Now()
		if _, err := wh.Write(ctx, b); err != nil {
			return nil, fmt.Errorf("writing simulated batch: %w", err)
		}
	}
	// The batches were written within a second; a live stream commits them
	// over time. Spread them 5 minutes apart, the last one now, so the
	// pipeline panels have a series to draw (and to sort).
	for _, q := range []string{
		`update ingest_batches set started_at = started_at - to_minutes(5 * ((select max(batch_id) from ingest_batches) - batch_id)),
			committed_at = committed_at - to_minutes(5 * ((select max(batch_id) from ingest_batches) - batch_id))`,
		`update dead_letters set received_at = received_at - to_minutes(5 * ((select max(batch_id) from ingest_batches) - batch_id))`,
	} {
		if _, err := wh.DB.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("spreading the batches in time: %w", err)
		}
	}
	if _, err := models.Rebuild(ctx, wh.DB, models.Config{HashKey: testKey, Cost: models.IllustrativeCostModel()}); err != nil {
		return nil, fmt.Errorf("building the models: %w", err)
	}
	if err := runGovernance(ctx, d, emailsOf(msgs, 2)); err != nil {
		return nil, err
	}
	// gateway_queries and governance's tables exist from the warehouse's
	// migrations on, so the models already read them; the refresh after
	// governance ran takes in what it recorded.
	if err := startGateway(ctx, d); err != nil {
		return nil, err
	}
	if _, err := models.Refresh(ctx, wh.DB, models.Config{HashKey: testKey, Cost: models.IllustrativeCostModel()}); err != nil {
		return nil, fmt.Errorf("refreshing the models: %w", err)
	}
	if err := seedGatewayAudit(ctx, d); err != nil {
		return nil, err
	}
	if err := wh.DB.QueryRowContext(ctx, "select min(day)::timestamp, max(day)::timestamp from kpi_counts_daily").Scan(&d.firstDay, &d.lastDay); err != nil {
		return nil, err
	}
	return d, nil
}

// sharedPhoneValues are two people's messages from one phone, each with
// an e-mail of their own: the compliance dashboard's shared-identifier
// panels have a row to show.
func sharedPhoneValues(at time.Time) [][]byte {
	var out [][]byte
	for i, email := range []string{"familia.a@example.org", "familia.b@example.org"} {
		out = append(out, []byte(fmt.Sprintf(`{"schema":"cx.event/v1","event_id":"dash-shared-%d","type":"message","occurred_at":%q,`+
			`"source":"test","channel":"whatsapp","conversation_id":"dash-shared-%d","contact":{"phone":"+5511900000077","email":%q},`+
			`"actor":{"kind":"customer"},"message":{"direction":"inbound","text":"oi"}}`, i, at.Add(time.Duration(i)*time.Hour).Format(time.RFC3339Nano), i, email)))
	}
	return out
}

// emailsOf returns up to n distinct contact emails of the messages.
func emailsOf(msgs []ingest.Message, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range msgs {
		var ev struct {
			Contact struct {
				Email string `json:"email"`
			} `json:"contact"`
		}
		if json.Unmarshal(m.Value, &ev) != nil || ev.Contact.Email == "" || seen[ev.Contact.Email] {
			continue
		}
		seen[ev.Contact.Email] = true
		if out = append(out, ev.Contact.Email); len(out) == n {
			break
		}
	}
	return out
}

// runGovernance does what governance does in a running cxlake, for real:
// consent enforcement (consent_state from the simulated consent events),
// an access export and an erasure of two simulated people
// (privacy_requests), a retention run (retention_runs), a checkpoint and a
// verification of the audit log (audit_verifications). Real requests
// complete at once, so one erasure request is added directly, received 40
// days ago and still open past its deadline, for the deadline panels.
func runGovernance(ctx context.Context, d *demo, emails []string) error {
	al, err := audit.Open(filepath.Join(d.wh.Dir, audit.Dir))
	if err != nil {
		return err
	}
	d.audit = al
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gov, err := governance.New(ctx, d.wh, al, governance.Defaults(), models.Config{HashKey: testKey, Cost: models.IllustrativeCostModel()}, quiet)
	if err != nil {
		return err
	}
	if _, err := gov.EnforceConsent(ctx); err != nil {
		return fmt.Errorf("enforcing consent: %w", err)
	}
	if len(emails) < 2 {
		return fmt.Errorf("the simulated traffic has %d people with an email", len(emails))
	}
	id0, err := governance.ParseEmail(emails[0])
	if err != nil {
		return err
	}
	if _, err := gov.Export(ctx, governance.ExportRequest{Identifier: id0, Actor: "test"}); err != nil {
		return fmt.Errorf("exporting: %w", err)
	}
	id1, err := governance.ParseEmail(emails[1])
	if err != nil {
		return err
	}
	if _, err := gov.Erase(ctx, governance.ErasureRequest{Identifier: id1, Reason: "dashboard test", Actor: "test"}); err != nil {
		return fmt.Errorf("erasing: %w", err)
	}
	now := time.Now().UTC()
	if _, err := d.wh.DB.ExecContext(ctx, `insert into privacy_requests (request_id, kind, status, subject_hash, identifier_kind, law, received_at, due_at)
		values ('fixture-overdue', 'erasure', 'received', 'fixture', 'phone', 'gdpr', ?, ?)`, now.Add(-40*24*time.Hour), now.Add(-10*24*time.Hour)); err != nil {
		return err
	}
	if _, err := gov.RunRetention(ctx, now); err != nil {
		return fmt.Errorf("running retention: %w", err)
	}
	if _, err := al.Checkpoint(ctx); err != nil {
		return err
	}
	if c, err := gov.VerifyAudit(ctx); err != nil || !c.Passed {
		return fmt.Errorf("verifying the audit log: %+v, %v", c, err)
	}
	return nil
}

// seedGatewayAudit queries the gateway as an analyst (allowed), and as
// grafana for a relation it may not read (refused), so that the
// compliance dashboard's gateway panels have rows, then flushes the audit.
func seedGatewayAudit(ctx context.Context, d *demo) error {
	for _, q := range []struct{ user, sql string }{
		{"ana", "select count(*) from conversations"},
		{"ana", "select sum(conversations) from kpi_daily"},
		{"grafana", "select count(*) from conversations"},
	} {
		db, err := gatewayDB(d, q.user)
		if err != nil {
			return err
		}
		var n any
		err = db.QueryRowContext(ctx, q.sql).Scan(&n)
		db.Close()
		if q.user == "grafana" && err == nil {
			return fmt.Errorf("the gateway let grafana read conversations")
		}
		if q.user != "grafana" && err != nil {
			return fmt.Errorf("seeding the gateway audit: %w", err)
		}
	}
	return flushAudit(ctx, d)
}
