// Package sources wires the source formats that are not cx.event/v1 into a
// running cxlake: their configuration (the sources: section), the decoders
// a consumer uses for their topics, and the webhook endpoints on the HTTP
// server. The formats themselves live in ingest/chatwoot and
// ingest/evolution.
package sources

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/ingest/chatwoot"
	"github.com/cxlake/cxlake/ingest/evolution"
)

// Config is the sources: section. A source with no settings is off.
type Config struct {
	Evolution evolution.Config
	Chatwoot  chatwoot.Config
}

// Validate checks the sources that are on.
func (c Config) Validate() error {
	if c.Evolution.Enabled() {
		if err := c.Evolution.Validate(); err != nil {
			return err
		}
	}
	if c.Chatwoot.Enabled() {
		if err := c.Chatwoot.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Topics are the topics of the sources that are on.
func (c Config) Topics() []string {
	var out []string
	if c.Evolution.Enabled() {
		out = append(out, c.Evolution.Topics()...)
	}
	if c.Chatwoot.Enabled() {
		out = append(out, c.Chatwoot.WithDefaults().Topic)
	}
	return out
}

// Decoders returns the decoders of the sources that are on, for a consumer
// (ingest.Consumer.WithSources). hashKey is the warehouse's hash key
// (Warehouse.HashKey), which keys the chat hashes in WhatsApp chat ids.
// The Evolution decoder keeps no state across messages: the models draw
// WhatsApp conversations from the stored messages of each chat.
func Decoders(c Config, canon event.Decoder, hashKey []byte, log *slog.Logger) ([]ingest.Source, error) {
	if log == nil {
		log = slog.Default()
	}
	var out []ingest.Source
	if c.Evolution.Enabled() {
		if len(hashKey) < 16 {
			return nil, fmt.Errorf("starting the Evolution API source: the hash key is %d bytes, want at least 16", len(hashKey))
		}
		d := evolution.New(c.Evolution, canon, hashKey)
		log.Info("evolution source", "topics", len(d.Topics()))
		out = append(out, d)
	}
	if c.Chatwoot.Enabled() {
		out = append(out, chatwoot.New(c.Chatwoot, canon))
	}
	return out, nil
}

// Mount adds the webhook endpoints of the sources that are on to mux
// (POST /v1/sources/chatwoot), publishing to Kafka at brokers; refused,
// when set, is called with the source and reason of each refused request.
// Call the returned close after the HTTP server has shut down.
func Mount(mux *http.ServeMux, c Config, brokers []string, refused func(source, reason string), log *slog.Logger) (close func() error) {
	if !c.Chatwoot.Enabled() {
		return func() error { return nil }
	}
	pub := chatwoot.NewKafkaPublisher(brokers, c.Chatwoot.WithDefaults().Topic)
	h := chatwoot.NewHandler(c.Chatwoot, pub, log)
	if refused != nil {
		h.Refused = func(reason string) { refused("chatwoot", reason) }
	}
	mux.Handle("POST "+chatwoot.Path, h)
	return pub.Close
}
