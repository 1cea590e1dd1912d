package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

// pipeline is what `run` and `demo` share: a consumer writing to the
// warehouse, with the lake published and the models refreshed on a schedule
// while events flow.
type pipeline struct {
	wh           *warehouse.Warehouse
	consumer     *ingest.Consumer
	refresh      func(ctx context.Context) error
	refreshEvery time.Duration
	publishEvery time.Duration
	log          *slog.Logger
	metrics      *metrics // nil: not exported
	// afterPublish, when set, gets each publication (the audit log).
	afterPublish func(warehouse.Publication)
	// shutdownTimeout bounds the last publish and refresh, from the moment
	// ctx ends (ingest.ShutdownContext); zero: no bound.
	shutdownTimeout time.Duration
	// mirrorLag, when set, is the audit mirror's lag for /metrics.
	mirrorLag func(context.Context) (int64, error)
}

// run consumes until ctx ends, then flushes the batch in hand, commits,
// publishes and refreshes once more.
func (p *pipeline) run(ctx context.Context) error {
	p.metrics.watchIngest(p.consumer.Stats)
	p.metrics.watchHealth(p.consumer.Health)
	p.metrics.watchLags(p.wh.PublicationLag, p.mirrorLag)
	done := make(chan error, 1)
	go func() { done <- p.consumer.Run(ctx) }()
	refreshT := time.NewTicker(p.refreshEvery)
	publishT := time.NewTicker(p.publishEvery)
	defer refreshT.Stop()
	defer publishT.Stop()
	var refreshedAt int64 // batches seen at the last refresh
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("ingest stopped: %w", err)
			}
			final := context.WithoutCancel(ctx)
			if p.shutdownTimeout > 0 {
				var cancel context.CancelFunc
				final, cancel = ingest.ShutdownContext(ctx, p.shutdownTimeout)
				defer cancel()
			}
			if err := p.publish(final); err != nil {
				return err
			}
			return p.doRefresh(final)
		case <-refreshT.C:
			if n := p.consumer.Stats.Batches.Load(); n != refreshedAt {
				refreshedAt = n
				if err := p.doRefresh(ctx); err != nil && ctx.Err() == nil {
					p.log.Error("model refresh failed; will retry", "err", warehouse.ExplainMemory(err))
				}
			}
		case <-publishT.C:
			if err := p.publish(ctx); err != nil && ctx.Err() == nil {
				p.log.Error("lake publish failed; will retry", "err", warehouse.ExplainMemory(err))
			}
		}
	}
}

func (p *pipeline) publish(ctx context.Context) error {
	pub, err := p.wh.Publish(ctx)
	if p.afterPublish != nil { // chunks recorded before a failure are published
		p.afterPublish(pub)
	}
	if err != nil {
		return fmt.Errorf("publishing to the lake: %w", err)
	}
	if pub.Events > 0 {
		p.log.Info("published to lake", "events", pub.Events, "batches", fmt.Sprintf("%d-%d", pub.FromBatchID+1, pub.ToBatchID))
	}
	return nil
}

func (p *pipeline) doRefresh(ctx context.Context) error {
	if p.refresh == nil {
		return nil
	}
	start := time.Now()
	err := p.refresh(ctx)
	p.metrics.refreshed(time.Since(start), err)
	if err != nil {
		return fmt.Errorf("refreshing models: %w", err)
	}
	p.log.Info("models refreshed", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
