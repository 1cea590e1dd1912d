package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cxlake/cxlake/config"
	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/ingest/chatwoot"
	"github.com/cxlake/cxlake/ingest/sources"
	"github.com/cxlake/cxlake/warehouse"
)

// withSources adds the configured source formats (Chatwoot, Evolution API)
// to a running pipeline: their decoders to the consumer, which then also
// subscribes to their topics, and their webhook endpoints to the HTTP
// server. Call the returned close after the HTTP server has shut down.
func withSources(ctx context.Context, cfg config.Config, wh *warehouse.Warehouse, c *ingest.Consumer, web *httpServer, m *metrics, log *slog.Logger) (func() error, error) {
	srcs, err := sources.Decoders(cfg.Sources, event.Decoder{MaxBytes: cfg.Ingest.MaxMessageBytes, MaxFutureSkew: cfg.Ingest.MaxFutureSkew}, wh.HashKey(), log)
	if err != nil {
		return nil, err
	}
	c.WithSources(srcs...)
	for _, s := range srcs {
		fmt.Printf("cxlake: source %s: %d topics\n", s.Name(), len(s.Topics()))
	}
	if cfg.Sources.Chatwoot.Enabled() {
		fmt.Printf("cxlake: Chatwoot webhooks on POST %s, published to %s\n", chatwoot.Path, cfg.Sources.Chatwoot.WithDefaults().Topic)
	}
	return sources.Mount(web.webhooks, cfg.Sources, cfg.Ingest.Brokers, m.refusedWebhook, log), nil
}
