package evolution

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// Decoder is the Evolution API ingest.Source. Each message is stored with
// its chat's id as conversation_id (chatID); the models draw the chat's
// conversations and takeovers from its messages
// (int_whatsapp_conversations_drawn). A Decoder is not safe for concurrent
// use: use one per consumer.
type Decoder struct {
	cfg      Config
	maxBytes int
	canon    event.Decoder
	chats    *privacy.Hasher // keys the chat part of chat ids
	topics   []string
}

// New returns a decoder for cfg (which must be valid). canon holds the
// checks of the canonical event every decoded event passes (its size limit,
// ingest.max_message_bytes, and clock, ingest.max_future_skew); messages
// larger than its MaxBytes become too_large dead letters. hashKey keys the
// chat hashes in chat ids (chatID): use the warehouse's hash key
// (models.hash_key), so that a chat keeps its id across restarts.
func New(cfg Config, canon event.Decoder, hashKey []byte) *Decoder {
	cfg = cfg.WithDefaults()
	if canon.MaxBytes <= 0 {
		canon.MaxBytes = event.DefaultMaxBytes
	}
	return &Decoder{cfg: cfg, maxBytes: canon.MaxBytes, canon: canon, chats: privacy.NewHasher(hashKey), topics: cfg.Topics()}
}

// Name is "evolution".
func (d *Decoder) Name() string { return "evolution" }

// Topics are the configured Evolution topics.
func (d *Decoder) Topics() []string { return slices.Clone(d.topics) }

// chatID is the id a message of chat (chatOf) in instance is stored with,
// as its conversation_id: "wa:<instance>:<token>", token being 16 hex
// digits of an HMAC-SHA256 of the chat under the warehouse's hash key
// (privacy.Hasher.WhatsAppChat), so that the id reveals no phone number.
// It is the same for every message of the chat, whatever the topic, the
// order or the batch it is read in. The model
// int_whatsapp_conversations_drawn cuts a chat's messages into
// conversations, "wa:<instance>:<token>:<n>".
func (d *Decoder) chatID(instance, chat string) string {
	return "wa:" + instance + ":" + d.chats.WhatsAppChat(instance, chat)
}

// draft is a decoded event and its chat.
type draft struct {
	ev   event.Event // complete but for ConversationID
	chat string      // chatOf: the chat the conversation_id names
}

// Decode implements ingest.Source.
func (d *Decoder) Decode(msgs []ingest.Message) []ingest.Outcome {
	out := make([]ingest.Outcome, len(msgs))
	for i, m := range msgs {
		env, err := parseEnvelope(m, d.cfg.Prefix, d.maxBytes)
		if err == nil && revises(env.event) {
			out[i].Revisions, err = d.revisions(env)
		} else if err == nil {
			var drafts []draft
			if drafts, err = d.dispatch(env); err == nil {
				out[i].Events = make([]event.Event, len(drafts))
				for j, dr := range drafts {
					dr.ev.ConversationID = d.chatID(env.instance, dr.chat)
					if out[i].Events[j], err = d.validate(env, dr.ev); err != nil {
						break
					}
				}
			}
		}
		if err != nil {
			out[i] = ingest.Outcome{Err: err, Stored: env.stored}
		}
	}
	return out
}

func (d *Decoder) dispatch(env envelope) ([]draft, error) {
	switch env.event {
	case "messages.upsert", "send.message", "messages.set":
		return d.messages(env)
	case "typebot.start", "typebot.change-status":
		return nil, reasons.Skip(env.event, "a bot session's state; the messages themselves say who answered and who took over")
	case "call":
		return d.call(env)
	case "messages.update":
		return nil, receipts(env)
	case "contacts.upsert", "contacts.update", "chats.upsert":
		return nil, addressBook(env)
	}
	return nil, reasons.UnknownEvent(env.event)
}

// revises says whether event changes a message already sent.
func revises(event string) bool {
	switch event {
	case "messages.edited", "send.message.update", "messages.delete":
		return true
	}
	return false
}

// revisions decodes an edit or a deletion (edits.go).
func (d *Decoder) revisions(env envelope) ([]warehouse.Revision, error) {
	if env.event == "messages.delete" {
		return deletion(env)
	}
	return edits(env)
}

// validate passes e through the canonical encoder and decoder, so that it
// meets every rule of cx.event/v1 and is normalized like a canonical event,
// and attaches the payload it came from, without secrets.
func (d *Decoder) validate(env envelope, e event.Event) (event.Event, error) {
	b, err := event.Encode(&e)
	if err != nil {
		return e, reasons.Reject(event.CodeInvalidValue, env.event, "", "cannot encode the decoded event: %v", err)
	}
	out, err := d.canon.Decode(b)
	if err != nil {
		var re *event.RejectError
		if errors.As(err, &re) {
			return e, &event.RejectError{Code: re.Code, Field: re.Field,
				Reason: fmt.Sprintf("evolution %s: the decoded event is not valid cx.event/v1: %s", env.event, re.Reason)}
		}
		return e, err
	}
	out.Raw = env.stored
	return out, nil
}

func isSkip(err error) bool {
	var s *ingest.SkipError
	return errors.As(err, &s)
}
