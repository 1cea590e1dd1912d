package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/gateway"
	"github.com/cxlake/cxlake/governance"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/models"
	"github.com/cxlake/cxlake/simulate"
	"github.com/cxlake/cxlake/warehouse"
)

const demoTopic = "cx.events"

// demoProduceWindow is how far ahead of the consumer, in messages, the demo
// produces its history: about 50 MB of simulated messages in the embedded
// broker at most, whatever --events is.
const demoProduceWindow = 100_000

// demoSegmentBytes is the embedded broker's log segment size. The broker
// frees whole segments only, and an in-memory segment takes up to twice
// its size (simulate.BrokerOptions.SegmentBytes): with 32 MiB segments
// the broker held about 250 MiB for a window of 43 MiB of messages, and
// took the demo at 1M events over its budget (docs/memory.md). 4 MiB
// segments bound what the broker holds beyond the window to 3 partitions
// x 2 segments x 8 MiB; a produced batch (at most 1 MiB, kfake's
// message.max.bytes) still fits one.
const demoSegmentBytes = 4 << 20

func runDemo(ctx context.Context, args []string) (err error) {
	fs := newFlags("demo", "demo [--events N] [--once] [--data DIR] [--seed S] [--days D] [--rate R] [--pg-addr HOST:PORT] [--http-addr HOST:PORT] [--memory SIZE] [--mem-trace FILE]")
	mem := addMemoryFlag(fs)
	events := fs.Int("events", 20000, "simulated messages to produce before going live")
	once := fs.Bool("once", false, "exit when the messages are ingested and the models refreshed")
	data := dataFlag(fs)
	seed := fs.Uint64("seed", 1, "generator seed: the same seed gives the same traffic")
	days := fs.Int("days", 30, "days of history the traffic spans, ending today")
	rate := fs.Float64("rate", 5, "live messages per second after the backfill (without --once)")
	pgAddr := fs.String("pg-addr", gateway.DefaultAddr, "SQL gateway address (Postgres wire protocol), host:port")
	httpAddr := fs.String("http-addr", "", "serve GET /metrics (Prometheus), GET /healthz and GET /v1/reports/kpi on host:port; default "+config.DefaultHTTPAddr+" when live, off with --once")
	memTrace := fs.String("mem-trace", "", "write where the process's memory is, every second, to this CSV file, and the Go heap profile at the highest RSS to FILE.heap (docs/memory.md)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case *events < 1:
		return fmt.Errorf("--events is %d: give a positive number of messages, e.g. --events 20000", *events)
	case *days < 1 || *days > 3650:
		return fmt.Errorf("--days is %d: use 1 to 3650", *days)
	case *rate <= 0 || *rate > 10000:
		return fmt.Errorf("--rate is %g: use a positive number up to 10000 messages per second", *rate)
	}
	log := slog.Default()

	broker, err := simulate.StartBroker(simulate.BrokerOptions{Partitions: 3, SegmentBytes: demoSegmentBytes}, demoTopic)
	if err != nil {
		return err
	}
	defer broker.Close()
	ms, err := mem.settings(warehouse.Memory{})
	if err != nil {
		return err
	}
	if err := claimDemoDir(*data); err != nil {
		return err
	}
	wh, err := warehouse.Open(ctx, *data, warehouse.Options{Memory: ms})
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err)
	if *memTrace != "" {
		stop, err := startMemTrace(ctx, *memTrace, wh, broker)
		if err != nil {
			return err
		}
		defer stop()
	}
	mc, err := modelConfig(wh, models.Config{Cost: models.IllustrativeCostModel()})
	if err != nil {
		return err
	}
	gwCfg, err := demoGatewayConfig(*pgAddr)
	if err != nil {
		return fmt.Errorf("--pg-addr: %w", err)
	}
	// A self-signed pair in the data directory, so that sslmode=require works.
	if gwCfg.TLSCertFile, gwCfg.TLSKeyFile, err = gateway.SelfSignedTLS(*data); err != nil {
		return err
	}
	// Governance first: the gateway audits every query into its chain, and
	// it closes (last checkpoint) after the gateway has stopped. The demo's
	// HTTP APIs (the live KPI report) take a bearer token it prints.
	govCfg := governance.Defaults()
	if govCfg.ComplianceToken, err = demoToken(); err != nil {
		return err
	}
	gv, err := openGoverned(ctx, wh, govCfg, mc, log)
	if err != nil {
		return err
	}
	defer closeAtEnd(closerFunc(gv.close), &err)
	m := newMetrics()
	gw, err := startSQLGateway(ctx, wh, gwCfg, log, m, gv.audit)
	if err != nil {
		return err
	}
	defer gw.stop(ctx)
	var consumer atomic.Pointer[ingest.Consumer] // the running one, for /healthz
	addr := *httpAddr
	if addr == "" && !*once {
		addr = config.DefaultHTTPAddr
	}
	var reportCurl string
	if addr != "" {
		web := newHTTPServer(config.DefaultHTTP(), log)
		web.ops.Handle("GET /metrics", m.handler())
		mountKPIReport(web, wh, nil, gv.gov, log)
		web.watch(m.gatewayAuditCheck)
		web.watch(func() ingest.Health {
			if c := consumer.Load(); c != nil {
				return c.Health()
			}
			return ingest.Health{}
		})
		if err := web.start(addr); err != nil {
			return fmt.Errorf("--http-addr: %w", err)
		}
		defer web.shutdown(ctx)
		fmt.Printf("  metrics   http://%s/metrics (Prometheus)\n", web.Addr())
		if !*once {
			reportCurl = kpiReportCurl(web.AddrOf("api"), govCfg.ComplianceToken)
		}
	}
	abs, _ := filepath.Abs(*data)
	fmt.Printf("cxlake demo\n  broker    %s (embedded, Kafka protocol over TCP), topic %s\n  data      %s\n\n",
		broker.Addrs()[0], demoTopic, abs)

	cfg := ingest.Defaults()
	cfg.Brokers, cfg.Topics, cfg.GroupID = broker.Addrs(), []string{demoTopic}, "cxlake-demo"
	cfg.BatchWait = 200 * time.Millisecond
	refresh, err := gv.refresher(wh, models.Config{Cost: models.IllustrativeCostModel()})
	if err != nil {
		return err
	}
	p := &pipeline{wh: wh, consumer: ingest.NewConsumer(cfg, wh, log), refresh: refresh,
		refreshEvery: 5 * time.Second, publishEvery: 10 * time.Second, log: log, afterPublish: gv.published, metrics: m, mirrorLag: gv.gov.MirrorLag}
	p.consumer.AfterBatch = gv.batch
	consumer.Store(p.consumer)
	pctx, stopPipeline := context.WithCancel(context.WithoutCancel(ctx))
	defer stopPipeline()
	pdone := make(chan error, 1)
	go func() { pdone <- p.run(pctx) }()

	// Conversations open over --days days ending today, up to now; what
	// would follow later (replies, returns, reopens) has not happened yet,
	// so no event lies in the future and the live traffic continues the
	// same days.
	now := time.Now().UTC()
	start := now.Truncate(24*time.Hour).AddDate(0, 0, -*days+1)
	// PerDay is set a little low, so that the message budget outlasts the
	// window and the history reaches now (the rest goes to a second lap
	// over the same days) rather than stopping days short of it.
	gen := simulate.New(simulate.Config{Seed: *seed, Start: start, Days: *days, Until: now,
		PerDay: max(1, simulate.PerDayFor(int64(*events), *days)*17/20)})
	prog := newProgress(os.Stderr, int64(*events), p.consumer.Stats)
	prog.health = p.consumer.Health
	began := time.Now()
	// The history is produced at most demoProduceWindow messages ahead of
	// the consumer, and what the consumer committed is trimmed from the
	// embedded broker, which otherwise holds every message in memory: at
	// 1M events that took the demo over its memory budget.
	pace := func(ctx context.Context, done int) error {
		if err := prog.waitConsumed(ctx, int64(done-demoProduceWindow)); err != nil {
			return err
		}
		return broker.Trim(demoTopic, cfg.GroupID)
	}
	if err := simulate.Produce(ctx, broker.Addrs(), demoTopic, gen, *events, prog.produced, pace); err != nil {
		return stopOn(ctx, err)
	}
	if err := prog.waitIngested(ctx); err != nil {
		return stopOn(ctx, err)
	}
	if err := broker.Trim(demoTopic, cfg.GroupID); err != nil {
		return err
	}
	prog.finish()
	stopPipeline() // flush, commit, publish and refresh once more
	if err := <-pdone; err != nil {
		return err
	}
	if err := summarize(ctx, os.Stdout, wh, *data, gen.Stats(), time.Since(began), reportCurl); err != nil {
		return err
	}
	if *once {
		fmt.Printf("\nSQL gateway served postgres://%s/%s during the run; without --once it stays up, with a user per role.\n",
			gw.srv.Addr(), gateway.DefaultDatabase)
		return nil
	}
	gw.printConnect(os.Stdout)
	return demoLive(ctx, wh, broker, gen, cfg, refresh, gv, *rate, log, m, &consumer)
}

// demoLive keeps a trickle of live traffic flowing through the same
// pipeline until the user stops it.
func demoLive(ctx context.Context, wh *warehouse.Warehouse, broker *simulate.Broker, gen *simulate.Generator,
	cfg ingest.Config, refresh func(context.Context) error, gv *governed, rate float64, log *slog.Logger, m *metrics,
	running *atomic.Pointer[ingest.Consumer]) error {
	p := &pipeline{wh: wh, consumer: ingest.NewConsumer(cfg, wh, log), refresh: refresh,
		refreshEvery: 5 * time.Second, publishEvery: 30 * time.Second, log: log, afterPublish: gv.published, metrics: m, mirrorLag: gv.gov.MirrorLag}
	p.consumer.AfterBatch = gv.batch
	running.Store(p.consumer)
	gctx, stopGov := context.WithCancel(context.WithoutCancel(ctx))
	govDone := make(chan struct{})
	go func() { gv.gov.Run(gctx); close(govDone) }()
	defer func() { stopGov(); <-govDone }()
	pdone := make(chan error, 1)
	go func() { pdone <- p.run(ctx) }()
	gen.LiveAt(time.Now)
	w := simulate.NewWriter(broker.Addrs(), demoTopic)
	w.BatchTimeout = 10 * time.Millisecond
	defer w.Close()
	fmt.Printf("\nLive: %g simulated messages/s; models refresh every 5s. Ctrl-C stops cleanly.\n", rate)
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	status := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	defer status.Stop()
	var sent int64
	for {
		select {
		case <-ctx.Done():
			fmt.Println("\nstopping: flushing the last batch and committing offsets…")
			if err := <-pdone; err != nil {
				return err
			}
			fmt.Printf("stopped cleanly: %d live messages sent, %d ingested\n", sent, p.consumer.Stats.Messages.Load())
			return nil
		case err := <-pdone:
			return err
		case <-tick.C:
			m := gen.Next()
			if err := w.WriteMessages(ctx, kafka.Message{Key: m.Key, Value: m.Value}); err != nil && ctx.Err() == nil {
				return fmt.Errorf("producing live traffic: %w", err)
			}
			sent++
		case <-status.C:
			fmt.Printf("live: %d sent, %d ingested, %d dead letters\n", sent, p.consumer.Stats.Messages.Load(), p.consumer.Stats.DeadLetters.Load())
		}
	}
}

// stopOn turns a cancellation into a clean stop and keeps other errors.
func stopOn(ctx context.Context, err error) error {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, ctx.Err())) {
		fmt.Fprintln(os.Stderr, "\ninterrupted: what was ingested is committed")
		return nil
	}
	return err
}

// demoMarker marks a data directory the demo made. The demo shares the
// default directory with every other command, so that `cxlake query` after
// `cxlake demo` needs no --data; the marker keeps it from ever writing
// simulated traffic into a warehouse that holds real data.
const demoMarker = "DEMO"

// claimDemoDir refuses a directory whose warehouse the demo did not make,
// and marks a new one as the demo's.
func claimDemoDir(dir string) error {
	marker := filepath.Join(dir, demoMarker)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, warehouse.DBFile)); err == nil {
		return fmt.Errorf("--data %s holds a warehouse the demo did not make: the demo never writes simulated traffic "+
			"into it; give another directory, e.g. --data cxlake-demo-2 (a demo directory of an older cxlake: delete it, "+
			"or create the file %s in it)", dir, demoMarker)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating data directory %s: %w", dir, err)
	}
	if err := os.WriteFile(marker, []byte("made by cxlake demo: simulated traffic only\n"), 0o640); err != nil {
		return fmt.Errorf("marking %s as the demo's: %w", dir, err)
	}
	return nil
}
