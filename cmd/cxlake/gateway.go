package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/cxlake/cxlake/dashboards"
	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/warehouse"
)

// The SQL gateway's wiring for `run` and `demo`: the role policy, the
// demo's users, start-up and shutdown.

// EnvDemoPassword, when set, is the password of every demo gateway user
// (for scripts); otherwise each gets a random one.
const EnvDemoPassword = "CXLAKE_DEMO_PASSWORD"

// gatewayPolicy is what each role may read through the gateway. A stage
// that adds an aggregate view for dashboards allows it here, e.g.
// p.Allow(gateway.RoleLeadership, "kpi_weekly").
func gatewayPolicy() *gateway.Policy {
	p := gateway.DefaultPolicy()
	// The Grafana dashboards' aggregate marts (dashboards.Relations); the
	// additive KPI mart also for the other roles that read KPIs.
	// The quarter-hour KPI base gives every role that reads KPIs the
	// figures of any time zone's days.
	// The FRT distribution (counted from that base) and the message volumes
	// (issue 31) likewise; grafana reads them for the leadership panels
	// (dashboards.Relations).
	p.Allow(gateway.RoleGrafana, dashboards.Relations...)
	p.Allow(gateway.RoleLeadership, "kpi_counts_daily", "kpi_counts_quarter_hourly", "frt_distribution_quarter_hourly", "message_volumes_quarter_hourly")
	p.Allow(gateway.RoleAnalyst, "kpi_counts_daily", "kpi_counts_quarter_hourly", "frt_distribution_quarter_hourly", "message_volumes_quarter_hourly")
	// Per-agent figures (issue 31; empty unless models.per_agent is on):
	// agents appear only by their pseudonymous actor_key, which only
	// compliance (every relation) can tie to an id. Leadership and analysts
	// read them like the other KPI marts; grafana does not, since no
	// dashboard panel reads them (dashboards.Relations).
	p.Allow(gateway.RoleLeadership, "kpi_daily_agent")
	p.Allow(gateway.RoleAnalyst, "kpi_daily_agent")
	return p
}

// sqlGateway is a started gateway and the users it was started with.
type sqlGateway struct {
	srv     *gateway.Server
	users   []gateway.User
	tlsCert string                // the certificate file when TLS is served
	audit   *gateway.TableAuditor // closed after the server, when we made it
	// logins records refused logins in gateway_logins; closed after the server.
	logins *gateway.TableLoginRecorder
	chain  *gateway.ChainAuditor // flushed after the server, when there is an audit log
	// losses records the chain records that were lost in
	// gateway_chain_losses; closed after the chain.
	losses *gateway.TableLossRecorder
}

// minGatewayProcs is the GOMAXPROCS a process serving SQL runs with. Each
// session waits for its query inside a cgo call to DuckDB, and a goroutine
// in a cgo call keeps its P until the runtime's monitor takes it back; with
// GOMAXPROCS at 2 (this machine's cores), sessions that only need to read a
// socket or encode rows wait behind those running DuckDB. But the setting is
// process-wide, and ingest shares the process. Measured on 2 cores at 5M
// events (bench gateway, 20 clients; bench ingest, median ratio):
//
//	GOMAXPROCS  wire p50  wire p95  queries/s  ingest ratio
//	2           21.7 ms   55 ms     803        0.457
//	4           13.3 ms   71 ms     902        0.455
//	8            6.3 ms   81 ms     885        0.424
//
// 4 takes most of the gateway's gain without slowing ingest.
const minGatewayProcs = 4

// raiseProcs lifts GOMAXPROCS to minGatewayProcs unless the operator set
// GOMAXPROCS.
func raiseProcs() {
	if os.Getenv("GOMAXPROCS") == "" && runtime.GOMAXPROCS(0) < minGatewayProcs {
		runtime.GOMAXPROCS(minGatewayProcs)
	}
}

// startSQLGateway starts the gateway over the warehouse. Every query is
// audited in gateway_queries and, with chain (the hash-chained audit log),
// there too; a record the chain cannot take is written to
// gateway_chain_losses. With m, queries and lost records are also counted
// for /metrics.
func startSQLGateway(ctx context.Context, wh *warehouse.Warehouse, cfg gateway.Config, log *slog.Logger, m *metrics, chain gateway.ChainAppender) (*sqlGateway, error) {
	raiseProcs()
	opts := gateway.Options{Policy: gatewayPolicy(), Log: log}
	table, err := gateway.NewTableAuditor(ctx, wh.DB, log)
	if err != nil {
		return nil, err
	}
	var auditor gateway.Auditor = table
	var ca *gateway.ChainAuditor
	var losses *gateway.TableLossRecorder
	if chain != nil {
		losses = gateway.NewTableLossRecorder(wh.DB, log)
		ca = gateway.NewChainAuditor(table, chain, losses, cfg.AuditBeforeRunRoles(), log)
		auditor = ca
	}
	closeAudit := func() {
		if ca != nil {
			ca.Close()
			_ = losses.Close()
		}
		_ = table.Close()
	}
	if m != nil {
		m.watchGatewayAudit(ca)
		auditor = m.countQueries(auditor)
	}
	opts.Auditor = auditor
	logins, err := gateway.NewTableLoginRecorder(ctx, wh.DB, log)
	if err != nil {
		closeAudit()
		return nil, err
	}
	opts.Logins = logins
	if m != nil {
		opts.Logins = m.countLogins(logins)
	}
	srv, err := gateway.New(ctx, wh.DB, cfg, opts)
	if err != nil {
		closeAudit()
		_ = logins.Close()
		return nil, err
	}
	g := &sqlGateway{srv: srv, users: cfg.Users, tlsCert: cfg.TLSCertFile, audit: table, chain: ca, losses: losses, logins: logins}
	if err := srv.Start(); err != nil {
		_ = g.stop(ctx)
		return nil, err
	}
	return g, nil
}

// runGateway starts the gateway for `run` when the config has users, and
// says where it listens; without users it says how to turn it on.
func runGateway(ctx context.Context, wh *warehouse.Warehouse, cfg gateway.Config, log *slog.Logger, m *metrics, chain *audit.Log) (*sqlGateway, error) {
	if len(cfg.Users) == 0 {
		fmt.Println("cxlake: SQL gateway off: add gateway.users to the config to serve SQL over the Postgres protocol (docs/gateway.md)")
		return nil, nil
	}
	var appender gateway.ChainAppender
	if chain != nil { // a nil *audit.Log is no chain, not a broken one
		appender = chain
	}
	gw, err := startSQLGateway(ctx, wh, cfg, log, m, appender)
	if err != nil {
		return nil, err
	}
	fmt.Printf("cxlake: SQL gateway on postgres://%s/%s (%d users; every query audited in %s and the audit chain)\n",
		gw.srv.Addr(), gateway.DefaultDatabase, len(cfg.Users), gateway.TableAuditorTable)
	return gw, nil
}

// stop shuts the gateway down: running queries are canceled, sessions
// closed and the query audit flushed. A nil gateway is a no-op.
func (g *sqlGateway) stop(ctx context.Context) error {
	if g == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := g.srv.Shutdown(sctx)
	if g.chain != nil {
		g.chain.Close()
		if lerr := g.losses.Close(); err == nil {
			err = lerr
		}
	}
	if g.audit != nil {
		if aerr := g.audit.Close(); err == nil {
			err = aerr
		}
	}
	if g.logins != nil {
		if lerr := g.logins.Close(); err == nil {
			err = lerr
		}
	}
	if err != nil {
		return fmt.Errorf("stopping the SQL gateway: %w", err)
	}
	return nil
}

// demoGatewayConfig gives the demo one user per role, named after the role.
func demoGatewayConfig(addr string) (gateway.Config, error) {
	cfg := gateway.DefaultConfig()
	cfg.Addr = addr
	shared := os.Getenv(EnvDemoPassword)
	for _, r := range gateway.Roles {
		pw := shared
		if pw == "" {
			b := make([]byte, 10)
			if _, err := rand.Read(b); err != nil {
				return cfg, err
			}
			pw = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
		}
		cfg.Users = append(cfg.Users, gateway.User{Name: string(r), Role: r, Password: pw})
	}
	return cfg, cfg.Validate()
}

// printConnect prints the address and a ready psql command per user whose
// password is known (the demo's).
func (g *sqlGateway) printConnect(w io.Writer) {
	addr := g.srv.Addr()
	host, port, _ := net.SplitHostPort(addr)
	fmt.Fprintf(w, "\nSQL gateway  postgres://%s/%s (Postgres wire protocol; psql, Grafana, DBeaver)\n", addr, gateway.DefaultDatabase)
	for _, u := range g.users {
		if u.Password == "" {
			fmt.Fprintf(w, "  %-11s psql -h %s -p %s -U %s %s\n", u.Role, host, port, u.Name, gateway.DefaultDatabase)
			continue
		}
		fmt.Fprintf(w, "  %-11s PGPASSWORD=%s psql -h %s -p %s -U %s %s\n", u.Role, u.Password, host, port, u.Name, gateway.DefaultDatabase)
	}
	if g.tlsCert != "" {
		fmt.Fprintf(w, "  TLS          psql \"host=%s port=%s dbname=%s sslmode=require\" -U <user>  (certificate %s)\n",
			host, port, gateway.DefaultDatabase, g.tlsCert)
	}
	fmt.Fprintf(w, "  every query is audited: table %s, and the hash-chained audit log (cxlake audit show)\n", gateway.TableAuditorTable)
}

// runGatewayVerifier reads a password from stdin and prints the SCRAM
// verifier to put under gateway.users[].scram, so that the config file
// need not hold the password.
func runGatewayVerifier(_ context.Context, args []string) error {
	fs := newFlags("gateway-verifier", "gateway-verifier < password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: give the password on stdin, not on the command line", fs.Arg(0))
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return fmt.Errorf("no password on stdin: echo -n 'the password' | cxlake gateway-verifier")
	}
	v, err := gateway.NewVerifier(pw)
	if err != nil {
		return err
	}
	fmt.Println(v)
	return nil
}
