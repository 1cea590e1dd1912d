package evolution

import (
	"fmt"
	"slices"
	"strings"
)

// Config says which Evolution API topics to read and how to read them.
type Config struct {
	// Prefix is Evolution's KAFKA_TOPIC_PREFIX (default "evolution").
	Prefix string
	// Instances whose per-instance topics <prefix>.<instance>.<event> are read.
	Instances []string
	// Global reads the topics <prefix>.global.<event> (Evolution's
	// KAFKA_GLOBAL_ENABLED), which carry every instance's events.
	Global bool
	// Events are the event names whose topics are read, as Evolution names
	// them in topics: messages.upsert, send.message, ... (default
	// DefaultEvents()).
	Events []string
	// BotInstances are instances whose own messages (key.fromMe) are all
	// sent by a bot, HumanInstances those whose own messages are all an
	// agent's. In the others, send.message is a bot's and messages typed on
	// the phone or WhatsApp Web (messages.upsert) an agent's.
	BotInstances   []string
	HumanInstances []string
}

// DefaultEvents are the default of Config.Events: the topics read unless
// events is set. History and edits (messages.set, messages.edited,
// send.message.update, messages.delete) are decoded when listed, not by
// default: a topic must exist before cxlake reads it, and Evolution
// creates only the topics of the events it is told to send.
func DefaultEvents() []string {
	return []string{"messages.upsert", "send.message", "messages.update", "contacts.upsert", "contacts.update", "chats.upsert", "call"}
}

// Handled are the events this package decodes.
func Handled() []string {
	return []string{"messages.upsert", "send.message", "messages.set", "messages.update", "messages.edited", "send.message.update",
		"messages.delete", "contacts.upsert", "contacts.update", "chats.upsert", "call"}
}

var handledList = strings.Join(Handled(), ", ")

// DefaultPrefix is Evolution API's default topic prefix.
const DefaultPrefix = "evolution"

// Enabled reports whether any key is set: the source is then on, and
// Validate requires instances or global.
func (c Config) Enabled() bool {
	return len(c.Instances) > 0 || c.Global || c.Prefix != "" || len(c.Events) > 0 || len(c.BotInstances) > 0 || len(c.HumanInstances) > 0
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if len(c.Events) == 0 {
		c.Events = DefaultEvents()
	}
	return c
}

// Validate reports the first bad key (under sources.evolution) with the fix.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if len(c.Instances) == 0 && !c.Global {
		return fmt.Errorf("sources.evolution reads no topic: list the Evolution instances under sources.evolution.instances, or set global: true for Evolution's global topics (KAFKA_GLOBAL_ENABLED)")
	}
	if !validTopicPart(c.Prefix) {
		return fmt.Errorf("sources.evolution.prefix is %q: use letters, digits, '.', '_' or '-', as in Evolution's KAFKA_TOPIC_PREFIX (default evolution)", c.Prefix)
	}
	for _, in := range c.Instances {
		if !validTopicPart(in) || in == "global" {
			return fmt.Errorf("sources.evolution.instances has %q: give Evolution instance names (letters, digits, '.', '_' or '-'; not \"global\", set global: true for the global topics)", in)
		}
	}
	for _, ev := range c.Events {
		if !validTopicPart(ev) {
			return fmt.Errorf("sources.evolution.events has %q: give event names as they appear in topics, e.g. messages.upsert", ev)
		}
	}
	for _, in := range c.BotInstances {
		if !slices.Contains(c.Instances, in) && !c.Global {
			return fmt.Errorf("sources.evolution.bot_instances has %q, which is not read: add it to sources.evolution.instances or set global: true", in)
		}
	}
	for _, in := range c.HumanInstances {
		if !slices.Contains(c.Instances, in) && !c.Global {
			return fmt.Errorf("sources.evolution.human_instances has %q, which is not read: add it to sources.evolution.instances or set global: true", in)
		}
		if slices.Contains(c.BotInstances, in) {
			return fmt.Errorf("sources.evolution.human_instances has %q, which bot_instances lists too: an instance's own messages are all a bot's or all an agent's, not both", in)
		}
	}
	return nil
}

// Topics are the topics to subscribe to: per instance and, with Global, the
// global ones, for every configured event. kafka-go has no pattern
// subscription, so the names are computed.
func (c Config) Topics() []string {
	c = c.WithDefaults()
	var out []string
	scopes := slices.Clone(c.Instances)
	if c.Global {
		scopes = append(scopes, "global")
	}
	for _, s := range scopes {
		for _, ev := range c.Events {
			out = append(out, c.Prefix+"."+s+"."+normalizeEvent(ev))
		}
	}
	return out
}

// normalizeEvent writes an event name as Evolution writes it in topics and
// envelopes: lower case, dots ("MESSAGES_UPSERT" -> "messages.upsert").
func normalizeEvent(ev string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(ev)), "_", ".")
}

func validTopicPart(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
