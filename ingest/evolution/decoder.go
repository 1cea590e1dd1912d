package evolution

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

// Decoder is the Evolution API ingest.Source. It keeps the conversation
// boundaries of the chats it has seen (sessions.go), so use one Decoder per
// consumer and Warm it before the first batch.
type Decoder struct {
	cfg      Config
	maxBytes int
	canon    event.Decoder
	sess     *sessions
	topics   []string
}

// New returns a decoder for cfg (which must be valid). canon holds the
// checks of the canonical event every decoded event passes (its size limit,
// ingest.max_message_bytes, and clock, ingest.max_future_skew); messages
// larger than its MaxBytes become too_large dead letters. hashKey keys the chat hashes in conversation ids (sessions.go): use the
// warehouse's hash key (models.hash_key), so that the ids stay the same
// across restarts.
func New(cfg Config, canon event.Decoder, hashKey []byte) *Decoder {
	cfg = cfg.WithDefaults()
	if canon.MaxBytes <= 0 {
		canon.MaxBytes = event.DefaultMaxBytes
	}
	return &Decoder{cfg: cfg, maxBytes: canon.MaxBytes, canon: canon, sess: newSessions(cfg.ConversationGap, hashKey), topics: cfg.Topics()}
}

// Name is "evolution".
func (d *Decoder) Name() string { return "evolution" }

// Topics are the configured Evolution topics.
func (d *Decoder) Topics() []string { return slices.Clone(d.topics) }

// Warm loads the conversations of the Evolution events already in the
// warehouse, so that a restart continues them. It returns how many it loaded.
func (d *Decoder) Warm(ctx context.Context, db *sql.DB) (int, error) {
	return d.sess.warm(ctx, db)
}

// draft is a decoded event waiting for its conversation.
type draft struct {
	ev   event.Event // complete but for ConversationID
	chat string      // conversation boundaries are kept per chat
	own  bool        // the business's account sent it (a bot or a person): it may complete a takeover
}

// Decode implements ingest.Source.
func (d *Decoder) Decode(msgs []ingest.Message) []ingest.Outcome {
	out := make([]ingest.Outcome, len(msgs))
	type pending struct {
		msg, n   int
		instance string
		dr       draft
		handoff  event.Event // for an own message: the handoff, should it complete a takeover (time and id set then)
	}
	var todo []pending
	for i, m := range msgs {
		env, err := parseEnvelope(m, d.cfg.Prefix, d.maxBytes)
		if err == nil && revises(env.event) {
			out[i].Revisions, err = d.revisions(env)
		} else if err == nil {
			var drafts []draft
			if drafts, err = d.dispatch(env); err == nil {
				out[i].Events = make([]event.Event, len(drafts))
				for j := range drafts {
					if drafts[j].ev, err = d.validate(env, drafts[j].ev); err != nil {
						break
					}
				}
				if err == nil {
					for j, dr := range drafts {
						p := pending{msg: i, n: j, instance: env.instance, dr: dr}
						if dr.own {
							if p.handoff, err = d.validate(env, takeover(dr.ev)); err != nil {
								break
							}
						}
						todo = append(todo, p)
					}
				}
			}
		}
		if err != nil {
			out[i] = ingest.Outcome{Err: err, Stored: env.stored}
		}
	}
	// Conversations are assigned in time order, ties in read order.
	slices.SortStableFunc(todo, func(a, b pending) int {
		return a.dr.ev.OccurredAt.Compare(b.dr.ev.OccurredAt)
	})
	for _, p := range todo {
		if out[p.msg].Err != nil {
			continue
		}
		ev := p.dr.ev
		ev.ConversationID = d.sess.assign(p.instance, p.dr.chat, ev.OccurredAt)
		out[p.msg].Events[p.n] = ev
		if !p.dr.own {
			continue
		}
		if at, id, ok := d.sess.takesOver(p.instance, p.dr.chat, ev.ConversationID, ev.Actor.Kind, ev.OccurredAt, ev.EventID); ok {
			// The person's message that took over: this one, or, when
			// this is the bot's message read after it, that one.
			h := p.handoff
			h.EventID, h.OccurredAt, h.ConversationID = id+":handoff", at, ev.ConversationID
			out[p.msg].Events = append(out[p.msg].Events, h)
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
	e.ConversationID = "pending" // assigned after validation, in time order
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
