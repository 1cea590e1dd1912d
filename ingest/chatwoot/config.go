package chatwoot

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the Chatwoot source: the webhook endpoint and the topic between
// it and ingest.
type Config struct {
	// Topic receives the webhook payloads (default chatwoot.events).
	Topic string
	// Secret is the webhook's secret in Chatwoot (Settings → Integrations →
	// Webhooks): requests signed with it (X-Chatwoot-Signature) are accepted.
	Secret string
	// Token, for Chatwoot versions that do not sign webhooks: requests whose
	// URL carries ?token=<Token> are accepted.
	Token string
	// SignatureTolerance is how far X-Chatwoot-Timestamp may be from now
	// (default 5m); older signed requests are refused as replays.
	SignatureTolerance time.Duration
	// MaxBodyBytes is the largest webhook body accepted (default 1 MiB).
	MaxBodyBytes int
	// InboxChannels maps inbox ids to cx.event/v1 channels, overriding the
	// channel derived from the inbox's type (an API inbox fed by a WhatsApp
	// bridge is whatsapp, not app).
	InboxChannels map[string]string
}

// Handled are the events the Decoder decodes.
func Handled() []string {
	return []string{"message_created", "message_updated", "conversation_created", "conversation_status_changed",
		"conversation_updated", "contact_created", "contact_updated"}
}

var handledList = strings.Join(Handled(), ", ")

// Defaults.
const (
	DefaultTopic              = "chatwoot.events"
	DefaultMaxBodyBytes       = 1 << 20
	DefaultSignatureTolerance = 5 * time.Minute
)

// Enabled reports whether any key is set: the source is then on, and
// Validate requires a secret or a token.
func (c Config) Enabled() bool {
	return c.Secret != "" || c.Token != "" || c.Topic != "" || c.SignatureTolerance != 0 || c.MaxBodyBytes != 0 || len(c.InboxChannels) > 0
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.SignatureTolerance == 0 {
		c.SignatureTolerance = DefaultSignatureTolerance
	}
	return c
}

// channels are the cx.event/v1 channels an inbox may be mapped to.
var channels = []string{"app", "email", "instagram", "messenger", "sms", "telegram", "voice", "webchat", "whatsapp"}

// Validate reports the first bad key (under sources.chatwoot) with the fix.
func (c Config) Validate() error {
	c = c.WithDefaults()
	switch {
	case c.Secret == "" && c.Token == "":
		return fmt.Errorf("sources.chatwoot needs secret (the webhook's secret in Chatwoot, which signs each request) or token (for Chatwoot versions that do not sign: add ?token=<token> to the webhook URL)")
	case c.Secret != "" && len(c.Secret) < 16:
		return fmt.Errorf("sources.chatwoot.secret is %d characters: use the webhook's secret from Chatwoot, or at least 16 random characters", len(c.Secret))
	case c.Token != "" && len(c.Token) < 16:
		return fmt.Errorf("sources.chatwoot.token is %d characters: use at least 16 random characters, e.g. head -c 24 /dev/urandom | base64 | tr '+/' '-_'", len(c.Token))
	case strings.TrimSpace(c.Topic) == "" || strings.ContainsAny(c.Topic, " /\\"):
		return fmt.Errorf("sources.chatwoot.topic is %q: name a Kafka topic, e.g. %s", c.Topic, DefaultTopic)
	case c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20:
		return fmt.Errorf("sources.chatwoot.max_body_bytes is %d: use 1024 to 67108864 (default %d)", c.MaxBodyBytes, DefaultMaxBodyBytes)
	case c.SignatureTolerance < 10*time.Second || c.SignatureTolerance > time.Hour:
		return fmt.Errorf("sources.chatwoot.signature_tolerance is %s: use 10s to 1h (default 5m)", c.SignatureTolerance)
	}
	for inbox, ch := range c.InboxChannels {
		if _, err := strconv.ParseInt(inbox, 10, 64); err != nil {
			return fmt.Errorf("sources.chatwoot.inbox_channels has key %q: use the inbox's numeric id", inbox)
		}
		if !slices.Contains(channels, ch) {
			return fmt.Errorf("sources.chatwoot.inbox_channels.%s is %q: use one of %s", inbox, ch, strings.Join(channels, ", "))
		}
	}
	return nil
}
