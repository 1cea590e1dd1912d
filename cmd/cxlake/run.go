package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/governance/audit"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

const runUsage = "run --config FILE [--pg-addr HOST:PORT] [--wait-for-broker DURATION]"

func runRun(ctx context.Context, args []string) (err error) {
	fs := newFlags("run", runUsage)
	path := fs.String("config", "", "YAML config file (see docs/config.md); CXLAKE_* environment variables override it")
	pgAddr := fs.String("pg-addr", "", "SQL gateway address, host:port (overrides gateway.addr)")
	waitBroker := fs.Duration("wait-for-broker", 0, "wait this long at start for Kafka to answer (e.g. 2m, for orchestrated starts); 0 fails at once")
	mem := addMemoryFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: run takes only --config", fs.Arg(0))
	}
	if *path == "" {
		// Built-in defaults would create ./cxlake-data and consume
		// 127.0.0.1:9092: never what a deployment means.
		return fmt.Errorf("--config is required (docs/config.md; an empty file takes every default)\nUsage: cxlake %s", runUsage)
	}
	if *waitBroker < 0 {
		return fmt.Errorf("--wait-for-broker is %s: give a duration such as 2m, or 0 to fail at once", *waitBroker)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if *pgAddr != "" {
		cfg.Gateway.Addr = *pgAddr
		if err := cfg.Gateway.Validate(); err != nil {
			return fmt.Errorf("--pg-addr: %w", err)
		}
	}
	if len(cfg.Models.HashKey) == 0 {
		// The hash key lives outside the data directory (privacy.RunKey).
		key, where, err := privacy.RunKeyFile(cfg.Data, cfg.Privacy.KeyFile)
		if err != nil {
			return err
		}
		slog.Info("hash key", "file", where)
		cfg.Models.HashKey = key
	}
	ms, err := mem.settings(cfg.Memory)
	if err != nil {
		return err
	}
	wh, err := warehouse.Open(ctx, cfg.Data, warehouse.Options{HashKey: cfg.Models.HashKey, Memory: ms})
	if err != nil {
		return err
	}
	defer closeAtEnd(wh, &err) // a failed last checkpoint is reported, not dropped (issue 27 item 7)
	log := slog.Default()
	mc, err := modelConfig(wh, cfg.Models)
	if err != nil {
		return err
	}
	gv, err := openGoverned(ctx, wh, cfg.Governance, mc, log)
	if err != nil {
		return err
	}
	if gv.audit.WitnessPath() == "" {
		// The first run makes the witness, outside the data directory.
		witness, err := audit.WitnessFile(cfg.Data)
		if err == nil {
			err = gv.audit.UseWitness(witness)
		}
		if err != nil {
			gv.close()
			return fmt.Errorf("the audit witness: %w", err)
		}
	}
	slog.Info("audit witness", "file", gv.audit.WitnessPath())
	refresh, err := modelRefresher(wh, cfg.Models, gv.refreshed)
	if err != nil {
		gv.close()
		return err
	}
	m := newMetrics()
	m.watchGovernance(gv.gov)
	p := &pipeline{
		wh: wh, consumer: ingest.NewConsumer(cfg.Ingest, wh, log), refresh: refresh,
		refreshEvery: cfg.RefreshEvery, publishEvery: cfg.PublishEvery, log: log, afterPublish: gv.published, metrics: m, mirrorLag: gv.gov.MirrorLag,
		shutdownTimeout: cfg.Ingest.ShutdownTimeout,
	}
	p.consumer.AfterBatch = gv.batch
	p.consumer.WaitForBroker = *waitBroker
	// The one deadline of the shutdown: it starts when ctx ends (SIGINT,
	// SIGTERM), and the consumer's own runs from the same moment.
	stopCtx, stopDone := ingest.ShutdownContext(ctx, cfg.Ingest.ShutdownTimeout)
	defer stopDone()
	web := newHTTPServer(cfg.HTTP, log)
	web.watch(p.consumer.Health)
	web.watch(m.gatewayAuditCheck)
	web.ops.Handle("GET /metrics", m.handler())
	web.api.Handle("/v1/privacy/", m.countRefusals("privacy_api", gv.gov.Handler(), log))
	mountKPIReport(web, wh, cfg.Report.Targets, gv.gov, log)
	closeSources, err := withSources(ctx, cfg, wh, p.consumer, web, m, log)
	if err != nil {
		gv.close()
		return err
	}
	defer closeSources()
	if err := web.start(cfg.HTTPAddr); err != nil {
		gv.close()
		return err
	}
	fmt.Printf("cxlake: consuming %v from %v as group %q into %s (Ctrl-C to stop)\n",
		cfg.Ingest.Topics, cfg.Ingest.Brokers, cfg.Ingest.GroupID, cfg.Data)
	api := "disabled: set governance.compliance_token"
	if cfg.Governance.ComplianceToken != "" || len(cfg.Governance.APITokens) > 0 {
		api = "/v1/privacy/erasures, /v1/privacy/exports, /v1/privacy/requests"
	}
	fmt.Printf("cxlake: HTTP on http://%s (GET /healthz, GET /metrics); privacy API on http://%s: %s\n", web.Addr(), web.AddrOf("api"), api)
	gw, err := runGateway(ctx, wh, cfg.Gateway, log, m, gv.audit)
	if err != nil {
		_ = web.shutdown(stopCtx)
		gv.close()
		return err
	}
	// Governance's schedule (audit checkpoints, consent, retention) runs
	// beside the pipeline and stops after it.
	gctx, stopGov := context.WithCancel(context.WithoutCancel(ctx))
	govDone := make(chan error, 1)
	go func() { govDone <- gv.gov.Run(gctx) }()
	compactDone := make(chan struct{})
	go func() { defer close(compactDone); compactOnSchedule(gctx, wh, cfg, log) }()
	err = p.run(ctx)
	if ctx.Err() != nil {
		fmt.Println("cxlake: stopping on SIGINT/SIGTERM")
	} else { // ingest stopped on an error: the shutdown's deadline starts now
		var cancel context.CancelFunc
		stopCtx, cancel = context.WithTimeout(stopCtx, cfg.Ingest.ShutdownTimeout)
		defer cancel()
	}
	if herr := web.shutdown(stopCtx); err == nil {
		err = herr
	}
	if gerr := gw.stop(stopCtx); err == nil {
		err = gerr
	}
	stopGov()
	<-govDone
	<-compactDone
	if cerr := gv.close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ingest.ErrShutdownDeadline) || context.Cause(stopCtx) == ingest.ErrShutdownDeadline {
			return fmt.Errorf("stopped unclean: %w", err)
		}
		return fmt.Errorf("stopped on an error, not a signal: %w", err)
	}
	s := p.consumer.Stats
	fmt.Printf("cxlake: stopped cleanly after %d messages (%d accepted, %d duplicates, %d dead letters, %d skipped)\n",
		s.Messages.Load(), s.Accepted.Load(), s.Duplicates.Load(), s.DeadLetters.Load(), s.Skipped.Load())
	return nil
}
