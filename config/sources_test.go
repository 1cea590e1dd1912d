package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSourcesSection(t *testing.T) {
	p := write(t, `
sources:
  evolution:
    instances: [loja-centro, loja-sul]
    global: true
    conversation_gap: 12h
    bot_instances: [loja-sul]
  chatwoot:
    secret: from-the-file-0123456789
    inbox_channels: {"12": whatsapp}
`)
	t.Setenv(EnvChatwootSecret, "from-the-environment-0123")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Sources.Evolution
	if len(e.Instances) != 2 || !e.Global || e.BotInstances[0] != "loja-sul" {
		t.Fatalf("evolution %+v", e)
	}
	// The gap is the models': they draw WhatsApp conversations from the stored messages.
	if c.Models.WhatsAppConversationGap != 12*time.Hour {
		t.Fatalf("models' WhatsApp conversation gap %s, want 12h from sources.evolution.conversation_gap", c.Models.WhatsAppConversationGap)
	}
	w := c.Sources.Chatwoot
	if w.Secret != "from-the-environment-0123" || w.InboxChannels["12"] != "whatsapp" {
		t.Fatalf("chatwoot %+v: the environment overrides the file's secret", w)
	}
	topics := c.Sources.Topics()
	for _, want := range []string{"evolution.loja-centro.messages.upsert", "evolution.global.call", "chatwoot.events"} {
		if !slices.Contains(topics, want) {
			t.Errorf("topics %v lack %s", topics, want)
		}
	}
}

func TestSourcesErrorsNameTheKey(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"sources:\n  evolution:\n    prefix: evo\n", "sources.evolution reads no topic"},
		{"sources:\n  evolution:\n    instances: [a]\n    conversation_gap: often\n", "sources.evolution.conversation_gap"},
		{"sources:\n  evolution:\n    instances: [a]\n    conversation_gap: 1s\n", "sources.evolution.conversation_gap"},
		{"sources:\n  evolution:\n    instances: [a b]\n", "sources.evolution.instances"},
		{"sources:\n  evolution:\n    instances: [a]\n    bot_instances: [b]\n", "sources.evolution.bot_instances"},
		{"sources:\n  evolution:\n    instancse: [a]\n", "instancse"},
		{"sources:\n  chatwoot:\n    topic: cw\n", "sources.chatwoot needs secret"},
		{"sources:\n  chatwoot:\n    secret: short\n", "sources.chatwoot.secret"},
		{"sources:\n  chatwoot:\n    token: 0123456789abcdef01\n    inbox_channels: {\"3\": fax}\n", "sources.chatwoot.inbox_channels.3"},
		{"ingest:\n  topics: [chatwoot.events]\nsources:\n  chatwoot:\n    token: 0123456789abcdef01\n", "is a source topic"},
		{"sources:\n  kafka: {}\n", "kafka"},
	} {
		_, err := Load(write(t, tc.body))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("config %q: error %v, want it to mention %q", tc.body, err, tc.want)
		}
	}
}
