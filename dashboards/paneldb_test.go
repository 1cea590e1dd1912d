package dashboards

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance/audit"
)

// Panel queries run through the SQL gateway as the grafana role, over the
// PostgreSQL wire protocol with pgx in simple-protocol mode: what Grafana's
// PostgreSQL data source does (it sends the expanded text through
// pgconn's Exec). The gateway audits each of them in gateway_queries, like
// any query, which is where the compliance dashboard's gateway panels read.

// fixtureUsers are the gateway logins of the fixture, one per role used.
var fixtureUsers = []gateway.User{
	{Name: "grafana", Role: gateway.RoleGrafana, Password: "grafana-pw"},
	{Name: "ana", Role: gateway.RoleAnalyst, Password: "ana-pw"},
	{Name: "comp", Role: gateway.RoleCompliance, Password: "comp-pw"},
}

// fixturePolicy is cmd/cxlake's gatewayPolicy for the grafana role: the
// default policy plus the marts the dashboards read (cmd/cxlake's
// TestGatewayPolicyAllowsTheDashboards checks that it allows them).
func fixturePolicy() *gateway.Policy {
	p := gateway.DefaultPolicy()
	p.Allow(gateway.RoleGrafana, Relations...)
	return p
}

// startGateway starts a gateway over the fixture's warehouse on a free port.
// With the fixture's audit log, queries are also appended to the chain, as
// in a running cxlake, through a chain that refuses the records of
// analyst "ana" (a full disk, for her only): those are lost and recorded
// in gateway_chain_losses, which the compliance dashboard's lost-record
// panels read.
func startGateway(ctx context.Context, d *demo) error {
	cfg := gateway.Config{Addr: "127.0.0.1:0", Users: fixtureUsers}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := gateway.Options{Policy: fixturePolicy(), Log: log}
	if d.audit != nil {
		table, err := gateway.NewTableAuditor(ctx, d.wh.DB, log)
		if err != nil {
			return err
		}
		d.table, d.losses = table, gateway.NewTableLossRecorder(d.wh.DB, log)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		d.chain = gateway.NewChainAuditor(table, refusingChain{d.audit, "ana"}, d.losses, nil, quiet)
		opts.Auditor = d.chain
	}
	srv, err := gateway.New(ctx, d.wh.DB, cfg, opts)
	if err != nil {
		return fmt.Errorf("starting the gateway: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	for deadline := time.Now().Add(10 * time.Second); srv.Addr() == ""; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway did not start serving within 10 s")
		}
	}
	d.gw = srv
	return nil
}

// refusingChain appends to the audit log, except the records of one
// gateway login, which it refuses as a full disk would.
type refusingChain struct {
	log  *audit.Log
	user string
}

func (c refusingChain) Append(ctx context.Context, r audit.Record) (int64, error) {
	if r.Actor == c.user {
		return 0, errors.New("no space left on device")
	}
	return c.log.Append(ctx, r)
}

func (c refusingChain) AppendAll(ctx context.Context, rs []audit.Record) (int64, error) {
	for _, r := range rs {
		if r.Actor == c.user {
			return 0, errors.New("no space left on device")
		}
	}
	return c.log.AppendAll(ctx, rs)
}

// gatewayDB opens a database/sql handle on the fixture's gateway as user.
func gatewayDB(d *demo, user string) (*sql.DB, error) {
	var pw string
	for _, u := range fixtureUsers {
		if u.Name == user {
			pw = u.Password
		}
	}
	host, port, _ := net.SplitHostPort(d.gw.Addr())
	cfg, err := pgx.ParseConfig(fmt.Sprintf("postgres://%s:%s@%s:%s/cxlake?sslmode=disable", user, pw, host, port))
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return stdlib.OpenDB(*cfg), nil
}

// panelDB is where panel queries run: the gateway, as user grafana.
func panelDB(t *testing.T, d *demo) querier {
	t.Helper()
	db, err := gatewayDB(d, "grafana")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// flushAudit writes the gateway's buffered audit records to
// gateway_queries, and through the chain, to gateway_chain_losses.
func flushAudit(ctx context.Context, d *demo) error {
	if d.chain != nil {
		d.chain.Flush(ctx)
		if err := d.losses.Flush(ctx); err != nil {
			return err
		}
		return d.table.Flush(ctx)
	}
	a, ok := d.gw.Auditor().(*gateway.TableAuditor)
	if !ok {
		return fmt.Errorf("the gateway's auditor is %T", d.gw.Auditor())
	}
	return a.Flush(ctx)
}
