package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/internal/membench"
	"github.com/cxlake/cxlake/models"
)

// gatewayPhase is one measured load: the dashboard queries from some
// concurrent clients, over the wire or in process.
type gatewayPhase struct {
	Clients int     `json:"clients"`
	Queries int     `json:"queries"`
	P50Ms   float64 `json:"p50_ms"`
	P95Ms   float64 `json:"p95_ms"`
	MeanMs  float64 `json:"mean_ms"`
	QPS     float64 `json:"queries_per_s"`

	lat     []time.Duration
	elapsed time.Duration
}

// merge adds another slice of the same load.
func (g gatewayPhase) merge(o gatewayPhase) gatewayPhase {
	g.Clients = o.Clients
	g.lat = append(g.lat, o.lat...)
	g.elapsed += o.elapsed
	return g
}

// summarize computes the figures from the latencies.
func (g gatewayPhase) summarize() gatewayPhase {
	slices.Sort(g.lat)
	var sum time.Duration
	for _, l := range g.lat {
		sum += l
	}
	pct := func(p float64) float64 {
		return float64(g.lat[min(len(g.lat)-1, int(p*float64(len(g.lat))))].Microseconds()) / 1000
	}
	g.Queries, g.P50Ms, g.P95Ms = len(g.lat), pct(0.50), pct(0.95)
	g.MeanMs = float64(sum.Microseconds()) / 1000 / float64(len(g.lat))
	g.QPS = float64(len(g.lat)) / g.elapsed.Seconds()
	return g
}

type gatewayBench struct {
	Events        int            `json:"events"`
	Conversations int64          `json:"conversations"`
	Panels        int            `json:"panel_queries"`
	Wire          []gatewayPhase `json:"wire"`
	InProcess     []gatewayPhase `json:"in_process"`
	// Overhead* are wire / in-process latency (p50, p95, mean), per
	// concurrency, in the order of Wire. At a fixed number of clients the
	// mean ratio is also the throughput ratio.
	OverheadP50  []float64 `json:"overhead_p50"`
	OverheadP95  []float64 `json:"overhead_p95"`
	OverheadMean []float64 `json:"overhead_mean"`
}

// benchGateway builds a warehouse of N simulated messages and runs the
// dashboards' panel queries as the grafana role (as Grafana sends them,
// macros expanded; dashboardPanels)
// through the gateway from 1 and from 20 clients, and the same queries in
// process on DuckDB as the reference.
func benchGateway(ctx context.Context, args []string) error {
	fs := newFlags("bench gateway", "bench gateway --events N [--json] [--clients 1,20] [--duration 10s] [--dir DIR]")
	n := fs.Int("events", 5_000_000, "messages in the warehouse")
	asJSON := fs.Bool("json", false, "print one JSON object")
	dur := fs.Duration("duration", 10*time.Second, "how long each load runs")
	keep := fs.String("dir", "", "work in this folder and keep it; a later run with the same --events reuses its warehouse")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *dur < 100*time.Millisecond {
		return fmt.Errorf("--events must be positive and --duration at least 100ms")
	}
	bw, closeBench, err := openBenchWarehouse(ctx, *keep, *asJSON)
	if err != nil {
		return err
	}
	defer closeBench()
	wh, cfg, log := bw.wh, bw.models, bw.log
	if err := newWarehouseBuilder(wh, *n, log).fill(ctx, *n); err != nil {
		return err
	}
	if log != nil {
		fmt.Fprintln(log, "building the models…")
	}
	if _, err := models.Refresh(ctx, wh.DB, cfg); err != nil {
		return fmt.Errorf("building the models: %w", err)
	}
	panels, err := dashboardPanels(ctx, wh.DB)
	if err != nil {
		return err
	}
	r := gatewayBench{Events: *n, Panels: len(panels)}
	if err := wh.DB.QueryRowContext(ctx, "select count(*) from conversations").Scan(&r.Conversations); err != nil {
		return err
	}

	gcfg := gateway.DefaultConfig()
	gcfg.Addr = "127.0.0.1:0"
	gcfg.Users = []gateway.User{{Name: "dashboards", Role: gateway.RoleGrafana, Password: "bench"}}
	raiseProcs() // as `run` and `demo` do when they start the gateway
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := gateway.New(ctx, wh.DB, gcfg, gateway.Options{Policy: gatewayPolicy(), Log: quiet})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Shutdown(context.WithoutCancel(ctx))
	host, port, _ := net.SplitHostPort(srv.Addr())
	url := fmt.Sprintf("postgres://dashboards:bench@%s:%s/cxlake?sslmode=disable", host, port)

	for _, clients := range []int{1, 20} {
		if log != nil {
			fmt.Fprintf(log, "%d client(s): over the wire and in process, %s each, alternating in quarters…\n", clients, *dur)
		}
		// The machine is shared: alternating the two paths in short slices
		// keeps a change of background load from favouring one of them.
		var w, p gatewayPhase
		for range 4 {
			wq, err := runPanels(ctx, clients, *dur/4, panels, wireRunner(url))
			if err != nil {
				return fmt.Errorf("over the wire: %w", err)
			}
			pq, err := runPanels(ctx, clients, *dur/4, panels, inProcessRunner(wh.DB))
			if err != nil {
				return fmt.Errorf("in process: %w", err)
			}
			w, p = w.merge(wq), p.merge(pq)
		}
		w, p = w.summarize(), p.summarize()
		r.Wire, r.InProcess = append(r.Wire, w), append(r.InProcess, p)
		r.OverheadP50 = append(r.OverheadP50, w.P50Ms/p.P50Ms)
		r.OverheadP95 = append(r.OverheadP95, w.P95Ms/p.P95Ms)
		r.OverheadMean = append(r.OverheadMean, w.MeanMs/p.MeanMs)
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Printf("events        %d (%d conversations); %d dashboard panel queries, round robin\n", r.Events, r.Conversations, r.Panels)
	fmt.Printf("%-8s %-11s %8s %8s %8s %8s %10s\n", "clients", "path", "queries", "p50 ms", "p95 ms", "mean ms", "queries/s")
	for i := range r.Wire {
		for _, ph := range []struct {
			name string
			p    gatewayPhase
		}{{"wire", r.Wire[i]}, {"in process", r.InProcess[i]}} {
			fmt.Printf("%-8d %-11s %8d %8.2f %8.2f %8.2f %10.1f\n", ph.p.Clients, ph.name, ph.p.Queries, ph.p.P50Ms, ph.p.P95Ms, ph.p.MeanMs, ph.p.QPS)
		}
		fmt.Printf("%-8d %-11s %8s %7.2fx %7.2fx %7.2fx\n", r.Wire[i].Clients, "wire/in-p.", "", r.OverheadP50[i], r.OverheadP95[i], r.OverheadMean[i])
	}
	return nil
}

// dashboardPanels are the queries the shipped dashboards send as the
// grafana role (membench.PanelSQL), read from db in process.
func dashboardPanels(ctx context.Context, db *sql.DB) ([]string, error) {
	return membench.PanelSQL(ctx, func(ctx context.Context, q string) ([]string, error) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, rows.Err()
	})
}

// runner runs queries for one client; open returns its query function.
type runner func(ctx context.Context) (run func(q string) error, close func(), err error)

// wireRunner sends each query as Grafana does: pgx's PgConn().Exec
// (simple protocol, text results), reading every row.
func wireRunner(url string) runner {
	return func(ctx context.Context) (func(string) error, func(), error) {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			return nil, nil, err
		}
		run := func(q string) error {
			_, err := c.PgConn().Exec(ctx, q).ReadAll()
			return err
		}
		return run, func() { c.Close(context.WithoutCancel(ctx)) }, nil
	}
}

// inProcessRunner runs each query on DuckDB directly, reading every value.
func inProcessRunner(db *sql.DB) runner {
	return func(ctx context.Context) (func(string) error, func(), error) {
		run := func(q string) error {
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			cols, err := rows.Columns()
			if err != nil {
				return err
			}
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		return run, func() {}, nil
	}
}

// runPanels runs the panels round robin from clients concurrent clients
// for d (after one warm-up round each) and returns the latencies.
func runPanels(ctx context.Context, clients int, d time.Duration, panels []string, open runner) (gatewayPhase, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	setErr := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	var wg sync.WaitGroup
	ready := make(chan struct{})
	var warm sync.WaitGroup
	warm.Add(clients)
	var deadline time.Time
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run, closeFn, err := open(ctx)
			if err != nil {
				setErr(err)
				warm.Done()
				return
			}
			defer closeFn()
			for _, q := range panels {
				if err := run(q); err != nil {
					setErr(err)
				}
			}
			warm.Done()
			<-ready
			var mine []time.Duration
			for k := i; time.Now().Before(deadline); k++ {
				start := time.Now()
				if err := run(panels[k%len(panels)]); err != nil {
					setErr(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	warm.Wait()
	start := time.Now()
	deadline = start.Add(d)
	close(ready)
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return gatewayPhase{}, firstErr
	}
	if len(lat) == 0 {
		return gatewayPhase{}, fmt.Errorf("no query finished in %s", d)
	}
	return gatewayPhase{Clients: clients, lat: lat, elapsed: elapsed}, nil
}
