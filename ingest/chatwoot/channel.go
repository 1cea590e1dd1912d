package chatwoot

import (
	"encoding/json"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// inboxChannels maps Chatwoot's inbox channel types
// (app/models/channel/*.rb) to cx.event/v1 channels.
var inboxChannels = map[string]string{
	"Channel::Whatsapp":       "whatsapp",
	"Channel::WebWidget":      "webchat",
	"Channel::Email":          "email",
	"Channel::Instagram":      "instagram",
	"Channel::FacebookPage":   "messenger", // instagram when the conversation came from Instagram, below
	"Channel::Telegram":       "telegram",
	"Channel::Api":            "app",
	"Channel::Sms":            "sms",
	"Channel::TwilioSms":      "sms",
	"Channel::Voice":          "voice",
	"Channel::Line":           "app",
	"Channel::TwitterProfile": "app",
	"Channel::Tiktok":         "app", // TikTok direct messages (app/models/channel/tiktok.rb): no cx.event/v1 channel of its own
}

// channelOf returns the conversation's cx.event/v1 channel: the inbox's
// entry in Config.InboxChannels, else the one of its channel type. A
// Facebook page inbox carries Instagram direct messages too; those
// conversations have additional_attributes.type "instagram_direct_message".
func (d *Decoder) channelOf(ev string, c *conversation) (string, error) {
	if ch, ok := d.cfg.InboxChannels[string(c.InboxID)]; ok {
		return ch, nil
	}
	if c.Channel == "" {
		return "", reasons.Reject(event.CodeMissing, ev, "conversation.channel",
			"missing conversation.channel, the inbox's channel type; or map the inbox, by its numeric id in conversation.inbox_id, in sources.chatwoot.inbox_channels")
	}
	ch, ok := inboxChannels[c.Channel]
	if !ok {
		return "", reasons.Reject(event.CodeInvalidValue, ev, "conversation.channel",
			"inbox channel type %s has no cx.event/v1 channel; map the inbox, by its numeric id in conversation.inbox_id, in sources.chatwoot.inbox_channels", ingest.QuoteName(c.Channel))
	}
	if c.Channel == "Channel::FacebookPage" {
		var attrs struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(c.AdditionalAttributes, &attrs) == nil && attrs.Type == "instagram_direct_message" {
			return "instagram", nil
		}
	}
	return ch, nil
}
