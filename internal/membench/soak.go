package membench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cxlake/cxlake/dashboards"
)

// SoakConfig is a live demo under gateway clients: the demo backfills Events
// messages, then produces Rate messages a second while Clients clients,
// logged in as the grafana role, send the dashboards' panel queries round
// robin for Duration.
type SoakConfig struct {
	Binary   Binary
	Dir      string // the demo's data directory
	Events   int
	Rate     float64
	Clients  int
	Duration time.Duration
	Memory   string        // --memory; "" for the default budget
	Window   time.Duration // ingest must grow in every window of this length (default 10s)
	Log      io.Writer     // progress lines; nil for none
}

// SoakResult is what the soak saw.
type SoakResult struct {
	Budget       int64          `json:"budget_bytes"`
	Clients      int            `json:"clients"`
	Duration     time.Duration  `json:"duration_ns"`
	Queries      int64          `json:"queries"`
	Errors       map[string]int `json:"errors_by_sqlstate"` // "" for errors without a SQLSTATE
	RSSAtStart   int64          `json:"rss_at_start_bytes"` // when the clients started
	RSSMax       int64          `json:"rss_max_bytes"`      // highest sample while they ran
	RSSAtEnd     int64          `json:"rss_at_end_bytes"`   // when they stopped
	PeakRSS      int64          `json:"peak_rss_bytes"`     // the demo's whole life (ru_maxrss)
	IngestStart  float64        `json:"ingested_at_start"`  // cxlake_ingest_messages_total
	IngestEnd    float64        `json:"ingested_at_end"`
	Windows      int            `json:"windows"`
	Stalled      int            `json:"stalled_windows"` // windows in which ingest did not grow
	ScrapeErrors int            `json:"scrape_errors"`   // windows whose /metrics could not be read
	LakeLag      float64        `json:"lake_lag_events_at_end"`
	LakeLagS     float64        `json:"lake_lag_seconds_at_end"`
	MirrorLag    float64        `json:"audit_mirror_lag_records_at_end"`
	MirrorLagMax float64        `json:"audit_mirror_lag_records_max"` // highest of the windows' samples
	// MirrorCaught is how long after the last query the audit mirror's lag
	// fell below its value then (the mirror runs at each audit checkpoint, every
	// governance.checkpoint_every, 1m in the demo); -1 if not within 2m.
	MirrorCaught time.Duration `json:"audit_mirror_caught_up_ns"`
}

// Soak starts cxlake demo, waits for its gateway, runs the clients, samples
// the demo's RSS every second and its /metrics every window, then waits up
// to two minutes for the audit mirror to catch up, and stops the demo with
// SIGINT. It returns an error only when the soak could not be run; what
// went wrong under load is in the result.
func Soak(ctx context.Context, c SoakConfig) (res SoakResult, err error) {
	if c.Window <= 0 {
		c.Window = 10 * time.Second
	}
	if res.Budget, err = (Config{Memory: c.Memory}).Budget(); err != nil {
		return res, err
	}
	res.Clients, res.Duration, res.Errors = c.Clients, c.Duration, map[string]int{}
	say := func(format string, a ...any) {
		if c.Log != nil {
			fmt.Fprintf(c.Log, format+"\n", a...)
		}
	}
	pw := make([]byte, 12)
	if _, err := rand.Read(pw); err != nil {
		return res, err
	}
	password := hex.EncodeToString(pw)
	args := []string{"demo", "--events", strconv.Itoa(c.Events), "--data", c.Dir, "--pg-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--rate", strconv.FormatFloat(c.Rate, 'f', -1, 64)}
	if c.Memory != "" {
		args = append(args, "--memory", c.Memory)
	}
	b := c.Binary
	b.Env = append(append([]string(nil), b.Env...), "CXLAKE_DEMO_PASSWORD="+password)
	dctx, stopDemo := context.WithCancel(ctx)
	defer stopDemo()
	stdout, outW := io.Pipe()
	cmd := b.command(dctx, args, outW)
	errTail := &tail{n: 4096}
	cmd.Stderr = errTail
	say("starting cxlake demo --events %d --rate %g…", c.Events, c.Rate)
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting the demo: %w", err)
	}
	exited := make(chan error, 1)
	go func() { err := cmd.Wait(); outW.CloseWithError(io.EOF); exited <- err }()
	defer func() {
		stopDemo() // SIGINT: the demo flushes and stops
		werr := <-exited
		res.PeakRSS = maxRSS(cmd.ProcessState)
		if err == nil && werr != nil && dctx.Err() == nil {
			err = fmt.Errorf("the demo failed: %w: %s", werr, errTail)
		}
	}()

	metricsURL, gwAddr, err := demoAddrs(stdout)
	if err != nil {
		return res, fmt.Errorf("waiting for the demo's gateway: %w: %s", err, errTail)
	}
	go io.Copy(io.Discard, stdout) // the demo's live status lines
	url := fmt.Sprintf("postgres://grafana:%s@%s/cxlake?sslmode=disable", password, gwAddr)
	panels, err := livePanels(ctx, url)
	if err != nil {
		return res, err
	}
	say("%d panel queries; %d clients for %s", len(panels), c.Clients, c.Duration)

	m, err := scrape(ctx, metricsURL)
	if err != nil {
		return res, err
	}
	res.IngestStart = m["cxlake_ingest_messages_total"]
	if res.RSSAtStart, err = currentRSS(cmd.Process.Pid); err != nil {
		return res, err
	}
	cctx, stopClients := context.WithTimeout(ctx, c.Duration)
	defer stopClients()
	var queries atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range c.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			note := func(err error) {
				if cctx.Err() != nil { // the soak's end cut the query short
					return
				}
				code := ""
				if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) {
					code = pe.Code
				}
				mu.Lock()
				res.Errors[code]++
				mu.Unlock()
			}
			conn, err := pgx.Connect(cctx, url)
			if err != nil {
				note(err)
				return
			}
			defer conn.Close(context.WithoutCancel(ctx))
			for k := i; cctx.Err() == nil; k++ {
				if _, err := conn.PgConn().Exec(cctx, panels[k%len(panels)]).ReadAll(); err != nil {
					note(err)
					if conn.IsClosed() {
						return
					}
					continue
				}
				queries.Add(1)
			}
		}()
	}
	// Sample RSS each second and ingest each window while the clients run.
	sec, win := time.NewTicker(time.Second), time.NewTicker(c.Window)
	last := res.IngestStart
	res.RSSMax = res.RSSAtStart
sampling:
	for {
		select {
		case <-cctx.Done():
			break sampling
		case err := <-exited:
			exited <- err
			break sampling
		case <-sec.C:
			if rss, err := currentRSS(cmd.Process.Pid); err == nil {
				res.RSSMax = max(res.RSSMax, rss)
			}
		case <-win.C:
			m, err := scrape(ctx, metricsURL)
			res.Windows++
			if err == nil {
				res.MirrorLagMax = max(res.MirrorLagMax, m["cxlake_audit_mirror_lag_records"])
			}
			if err != nil {
				res.ScrapeErrors++
			} else if m["cxlake_ingest_messages_total"] <= last {
				res.Stalled++
			} else {
				last = m["cxlake_ingest_messages_total"]
			}
			say("  %3d%%  %d queries, RSS max %.0f MiB, ingested %.0f", int(100*float64(res.Windows)*c.Window.Seconds()/c.Duration.Seconds()),
				queries.Load(), float64(res.RSSMax)/(1<<20), last)
		}
	}
	sec.Stop()
	win.Stop()
	stopClients()
	wg.Wait()
	res.Queries = queries.Load()
	if rss, err := currentRSS(cmd.Process.Pid); err == nil {
		res.RSSAtEnd = rss
		res.RSSMax = max(res.RSSMax, rss)
	}
	if m, err = scrape(ctx, metricsURL); err != nil {
		return res, fmt.Errorf("the demo's /metrics after the clients: %w: %s", err, errTail)
	}
	res.IngestEnd = m["cxlake_ingest_messages_total"]
	res.LakeLag, res.LakeLagS, res.MirrorLag = m["cxlake_lake_publication_lag_events"], m["cxlake_lake_publication_lag_seconds"], m["cxlake_audit_mirror_lag_records"]
	// The audit mirror catches up at its next turn after the last query:
	// its lag falls below what it was then. (It never stays at 0: live
	// ingest keeps adding batch records.)
	res.MirrorCaught = -1
	began := time.Now()
	for deadline := began.Add(2 * time.Minute); time.Now().Before(deadline); {
		m, err := scrape(ctx, metricsURL)
		if err == nil && (res.MirrorLag == 0 || m["cxlake_audit_mirror_lag_records"] < res.MirrorLag) {
			res.MirrorCaught = time.Since(began)
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return res, nil
}

// demoAddrs reads the demo's stdout until it has printed its /metrics URL
// and its SQL gateway's address (printed once the backfill is done).
func demoAddrs(stdout io.Reader) (metricsURL, gw string, err error) {
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "metrics" && strings.HasPrefix(f[1], "http://"):
			metricsURL = f[1]
		case len(f) >= 3 && f[0] == "SQL" && f[1] == "gateway" && strings.HasPrefix(f[2], "postgres://"):
			gw, _, _ = strings.Cut(strings.TrimPrefix(f[2], "postgres://"), "/")
		}
		if metricsURL != "" && gw != "" {
			return metricsURL, gw, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", "", err
	}
	return "", "", errors.New("the demo exited before printing its addresses")
}

// scrape reads a Prometheus text page: unlabelled samples by name.
func scrape(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading /metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

// livePanels are the dashboards' panel queries as Grafana would send them
// to this gateway (PanelSQL), read through one connection as the grafana role.
func livePanels(ctx context.Context, url string) ([]string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connecting to the demo's gateway: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return PanelSQL(ctx, func(ctx context.Context, q string) ([]string, error) {
		rows, err := conn.Query(ctx, q, pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	})
}

// PanelSQL returns the queries the shipped dashboards send: every panel
// target, expanded as Grafana expands it (dashboards.PanelQueries) for the
// 30 days ending at the warehouse's latest KPI day, daily, with every
// channel and team selected (the dashboards' "All"). column runs a query
// whose one column it returns as text.
func PanelSQL(ctx context.Context, column func(ctx context.Context, q string) ([]string, error)) ([]string, error) {
	lastDay, err := column(ctx, "select max(day)::varchar from kpi_counts_daily")
	if err != nil || len(lastDay) != 1 {
		return nil, fmt.Errorf("reading the KPI range: %w", err)
	}
	last, err := time.Parse(time.DateOnly, lastDay[0])
	if err != nil {
		return nil, fmt.Errorf("reading the KPI range: no KPI day yet: %w", err)
	}
	vars := map[string][]string{}
	for _, v := range []string{"channel", "team"} {
		if vars[v], err = column(ctx, "select distinct "+v+"::varchar from kpi_counts_daily where "+v+" is not null order by 1"); err != nil {
			return nil, fmt.Errorf("reading the dashboards' %s options: %w", v, err)
		}
	}
	to := last.Add(24*time.Hour - time.Millisecond)
	qs, err := dashboards.PanelQueries(dashboards.Expansion{From: to.AddDate(0, 0, -30), To: to, Interval: 24 * time.Hour, Vars: vars})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.SQL
	}
	return out, nil
}
