// Package governance enforces cxlake's rules on personal data in every
// layer of a data directory: consent (consent.go), retention
// (retention.go), erasure (erasure.go; its recorded plan and recovery,
// plan.go) and access export (export.go) with
// their privacy requests and receipts (requests.go, receipt.go), the HTTP
// privacy API (http.go), and it writes what it does to the audit chain
// (package governance/audit; audit.go here mirrors and feeds it).
//
// Personal data is erasable in O(person) because the warehouse seals it
// under data keys (package privacy, warehouse/sealing.go):
// governance destroys keys and deletes rows, and rewrites only the Parquet
// files that hold the rows concerned (stores.go). docs/governance.md
// describes the method and the measurements behind it.
package governance

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/warehouse"
)

// migrations are governance's tables (consent_state, privacy_requests,
// retention_runs, audit_log, audit_verifications), versioned with the
// warehouse's: warehouse.Open applies them (warehouse/migrate.go).
//
//go:embed migrations/*.sql
var migrations embed.FS

func init() { warehouse.RegisterSchema("governance", migrations) }

// Governance acts on one open warehouse. Its methods are safe for
// concurrent use; those that change data run under the warehouse's
// Exclusive, so they never interleave with an ingest batch.
type Governance struct {
	wh     *warehouse.Warehouse
	audit  *audit.Log
	cfg    Config
	models models.Config
	log    *slog.Logger
	now    func() time.Time

	// life bounds the erasures the API accepted (Stop ends it); detached
	// lists them until they return.
	life       context.Context
	stopLife   context.CancelFunc
	detachedMu sync.Mutex
	detached   map[string]bool
	detachedWG sync.WaitGroup
	// apiWait is how long the API waits for an erasure before 202.
	apiWait time.Duration
	// loginFailures counts API calls refused for their token.
	loginFailures atomic.Int64

	// stepRetry is how long a failing erasure step is retried before the
	// erasure stops (pending, to resume).
	stepRetry time.Duration

	// mu serializes privacy requests, consent enforcement and retention
	// runs with each other.
	mu sync.Mutex
}

// New acts on wh (whose Open applied governance's migrations) and tells ingest the retention
// policy. auditLog receives a record of everything governance does; mc is
// the models configuration (erasure updates the models).
func New(ctx context.Context, wh *warehouse.Warehouse, auditLog *audit.Log, cfg Config, mc models.Config, log *slog.Logger) (*Governance, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.Default()
	}
	if len(mc.HashKey) == 0 {
		mc.HashKey = wh.HashKey()
	}
	wh.SetRetention(cfg.Retention.RawEvents, cfg.Retention.MessageText)
	life, stop := context.WithCancel(context.Background())
	return &Governance{wh: wh, audit: auditLog, cfg: cfg, models: mc, log: log, now: time.Now,
		stepRetry: 2 * time.Minute, life: life, stopLife: stop, detached: map[string]bool{}, apiWait: APIWait}, nil
}

// Audit is the audit log governance writes to.
func (g *Governance) Audit() *audit.Log { return g.audit }

// Config is the configuration in force.
func (g *Governance) Config() Config { return g.cfg }

// newID returns a request or run id: a prefix and 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// tableExists reports whether a table or view of that name exists.
func tableExists(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, name string) (bool, error) {
	var n int
	err := q.QueryRowContext(ctx, `select (select count(*) from duckdb_tables() where table_name = $1 and not temporary)
		+ (select count(*) from duckdb_views() where view_name = $1 and not temporary)`, name).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("looking for table %s: %w", name, err)
	}
	return n > 0, nil
}
