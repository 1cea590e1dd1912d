package config

import (
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/cxlake/cxlake/ingest/chatwoot"
	"github.com/cxlake/cxlake/ingest/evolution"
)

// sourcesFile mirrors the sources: section (docs/config.md, docs/sources/).
type sourcesFile struct {
	Evolution struct {
		Prefix          string   `yaml:"prefix"`
		Instances       []string `yaml:"instances"`
		Global          bool     `yaml:"global"`
		Events          []string `yaml:"events"`
		ConversationGap string   `yaml:"conversation_gap"`
		BotInstances    []string `yaml:"bot_instances"`
		HumanInstances  []string `yaml:"human_instances"`
	} `yaml:"evolution"`
	Chatwoot struct {
		Topic              string            `yaml:"topic"`
		Secret             string            `yaml:"secret"`
		Token              string            `yaml:"token"`
		SignatureTolerance string            `yaml:"signature_tolerance"`
		MaxBodyBytes       int               `yaml:"max_body_bytes"`
		InboxChannels      map[string]string `yaml:"inbox_channels"`
	} `yaml:"chatwoot"`
}

// Env variables for the sources' secrets, which are better kept out of files.
const (
	EnvChatwootSecret = "CXLAKE_CHATWOOT_SECRET" // overrides sources.chatwoot.secret
	EnvChatwootToken  = "CXLAKE_CHATWOOT_TOKEN"  // overrides sources.chatwoot.token
)

// applySources decodes the sources: section.
func applySources(c *Config, n *yaml.Node) error {
	var f sourcesFile
	if err := decodeSection("sources", n, &f); err != nil {
		return err
	}
	e := f.Evolution
	c.Sources.Evolution = evolution.Config{Prefix: e.Prefix, Instances: e.Instances, Global: e.Global, Events: e.Events, BotInstances: e.BotInstances, HumanInstances: e.HumanInstances}
	// The gap is the models' (int_whatsapp_conversations_drawn), which draw
	// WhatsApp conversations from the stored messages; models.Config.Validate
	// checks it under this key.
	if err := duration("sources.evolution.conversation_gap", e.ConversationGap, &c.Models.WhatsAppConversationGap); err != nil {
		return err
	}
	w := f.Chatwoot
	c.Sources.Chatwoot = chatwoot.Config{Topic: w.Topic, Secret: w.Secret, Token: w.Token, MaxBodyBytes: w.MaxBodyBytes, InboxChannels: w.InboxChannels}
	return duration("sources.chatwoot.signature_tolerance", w.SignatureTolerance, &c.Sources.Chatwoot.SignatureTolerance)
}

func (c *Config) applySourcesEnv(getenv func(string) string) {
	if v := getenv(EnvChatwootSecret); v != "" {
		c.Sources.Chatwoot.Secret = v
	}
	if v := getenv(EnvChatwootToken); v != "" {
		c.Sources.Chatwoot.Token = v
	}
}

// validateSources checks the sources that are on, and that their topics do
// not overlap the canonical ones (a topic is decoded one way only).
func (c Config) validateSources() error {
	if err := c.Sources.Validate(); err != nil {
		return err
	}
	for _, t := range c.Sources.Topics() {
		for _, ct := range c.Ingest.Topics {
			if t == ct {
				return fmt.Errorf("ingest.topics has %q, which is a source topic (sources:); a topic is cx.event/v1 or a source's, not both", t)
			}
		}
	}
	return nil
}
