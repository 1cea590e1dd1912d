package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

func runRun(ctx context.Context, args []string) error {
	fs := newFlags("run", "run --config FILE [--pg-addr HOST:PORT]")
	path := fs.String("config", "", "YAML config file (see docs/config.md); CXLAKE_* environment variables override it")
	pgAddr := fs.String("pg-addr", "", "SQL gateway address, host:port (overrides gateway.addr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: run takes only --config", fs.Arg(0))
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
	wh, err := warehouse.Open(ctx, cfg.Data, warehouse.Options{HashKey: cfg.Models.HashKey})
	if err != nil {
		return err
	}
	defer wh.Close()
	log := slog.Default()
	mc, err := modelConfig(wh, cfg.Models)
	if err != nil {
		return err
	}
	gv, err := openGoverned(ctx, wh, cfg.Governance, mc, log)
	if err != nil {
		return err
	}
	refresh, err := modelRefresher(wh, cfg.Models, gv.refreshed)
	if err != nil {
		gv.close()
		return err
	}
	m := newMetrics()
	p := &pipeline{
		wh: wh, consumer: ingest.NewConsumer(cfg.Ingest, wh, log), refresh: refresh,
		refreshEvery: cfg.RefreshEvery, publishEvery: cfg.PublishEvery, log: log, afterPublish: gv.published, metrics: m,
	}
	p.consumer.AfterBatch = gv.batch
	web := newHTTPServer()
	web.mux.Handle("GET /metrics", m.handler())
	web.mux.Handle("/v1/privacy/", gv.gov.Handler())
	mountKPIReport(web, wh, cfg.Report.Targets, gv.gov, log)
	closeSources, err := withSources(ctx, cfg, wh, p.consumer, web, log)
	if err != nil {
		gv.close()
		return err
	}
	defer closeSources()
	if err := web.start(cfg.HTTPAddr, log); err != nil {
		gv.close()
		return err
	}
	fmt.Printf("cxlake: consuming %v from %v as group %q into %s (Ctrl-C to stop)\n",
		cfg.Ingest.Topics, cfg.Ingest.Brokers, cfg.Ingest.GroupID, cfg.Data)
	api := "disabled: set governance.compliance_token"
	if cfg.Governance.ComplianceToken != "" {
		api = "/v1/privacy/erasures, /v1/privacy/exports, /v1/privacy/requests"
	}
	fmt.Printf("cxlake: HTTP on http://%s (GET /healthz, GET /metrics; privacy API %s)\n", web.Addr(), api)
	gw, err := runGateway(ctx, wh, cfg.Gateway, log, m, gv.audit)
	if err != nil {
		_ = web.shutdown(ctx)
		gv.close()
		return err
	}
	// Governance's schedule (audit checkpoints, consent, retention) runs
	// beside the pipeline and stops after it.
	gctx, stopGov := context.WithCancel(context.WithoutCancel(ctx))
	govDone := make(chan error, 1)
	go func() { govDone <- gv.gov.Run(gctx) }()
	err = p.run(ctx)
	if herr := web.shutdown(ctx); err == nil {
		err = herr
	}
	if gerr := gw.stop(ctx); err == nil {
		err = gerr
	}
	stopGov()
	<-govDone
	if cerr := gv.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s := p.consumer.Stats
	fmt.Printf("cxlake: stopped cleanly after %d messages (%d accepted, %d duplicates, %d dead letters, %d skipped)\n",
		s.Messages.Load(), s.Accepted.Load(), s.Duplicates.Load(), s.DeadLetters.Load(), s.Skipped.Load())
	return nil
}
