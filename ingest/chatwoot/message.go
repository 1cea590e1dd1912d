package chatwoot

import (
	"encoding/json"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
	"github.com/cxlake/cxlake/warehouse"
)

// message decodes message_created and message_updated.
//
// message_type says who wrote it: incoming messages are the contact's;
// outgoing ones an agent's (sender type user), a bot's (agent_bot, or
// Captain's captain_assistant) or, with no sender, an automation's; template
// messages (the greeting, the email request, the CSAT survey) are the
// system's, so they are neither a response nor a bot taking part. Private
// notes are outgoing messages with private true: kept, never a response.
// activity messages ("Conversation was resolved by ...") repeat the
// conversation events in words and are skipped.
//
// message_updated is a CSAT answer when the survey message
// (content_type input_csat) gets content_attributes.submitted_values.
// csat_survey_response {rating, feedback_message}; other updates (edits,
// delivery status) are skipped.
func (d *Decoder) message(ev string, p *message, kafkaTime time.Time) ([]event.Event, error) {
	if p.ID == "" {
		return nil, reasons.Missing(ev, "id")
	}
	if p.Conversation != nil && p.Conversation.InboxID == "" && p.Inbox != nil {
		p.Conversation.InboxID = p.Inbox.ID
	}
	var fallback *party
	if p.Sender != nil && p.Sender.Type == "contact" {
		fallback = p.Sender
	}
	if ev == "message_updated" {
		return d.csat(ev, p, fallback, kafkaTime)
	}
	if p.MessageType == "activity" {
		return nil, reasons.Skip(ev, "an activity message restates a conversation event in words; the conversation events are decoded instead")
	}
	e, err := d.base(ev, "conversation", p.Conversation, fallback)
	if err != nil {
		return nil, err
	}
	if e.OccurredAt, err = occurred(ev, kafkaTime, p.CreatedAt.Time); err != nil {
		return nil, err
	}
	e.EventID = "chatwoot:msg:" + string(p.ID)
	e.Type = event.TypeMessage
	e.Message = &event.Message{Direction: "outbound", Text: p.Content, Private: p.Private}
	team := ""
	if t := p.Conversation.Meta.Team; t != nil {
		team = t.Name
	}
	switch p.MessageType {
	case "incoming":
		e.Actor = event.Actor{Kind: "customer"}
		e.Message.Direction = "inbound"
	case "outgoing":
		e.Actor = event.Actor{Kind: "system"}
		if s := p.Sender; s != nil {
			switch s.Type {
			case "user":
				e.Actor = event.Actor{Kind: "agent", ID: string(s.ID), Team: team}
			case "agent_bot", "captain_assistant":
				e.Actor = event.Actor{Kind: "bot", ID: botID(s.Type, string(s.ID))}
			}
		}
	case "template":
		e.Actor = event.Actor{Kind: "system"}
	case "":
		return nil, reasons.Missing(ev, "message_type")
	default:
		return nil, reasons.Reject(event.CodeInvalidValue, ev, "message_type", "message_type %s is not incoming, outgoing, activity or template", ingest.QuoteName(string(p.MessageType)))
	}
	e.Extra = extra{Event: ev, InboxID: string(p.Conversation.InboxID), MessageType: string(p.MessageType), ContentType: p.ContentType}.raw()
	return []event.Event{e}, nil
}

// csatAnswer is content_attributes of an answered CSAT survey message.
type csatAnswer struct {
	SubmittedValues struct {
		CSATSurveyResponse *struct {
			Rating          json.Number `json:"rating"`
			FeedbackMessage string      `json:"feedback_message"`
		} `json:"csat_survey_response"`
	} `json:"submitted_values"`
}

func (d *Decoder) csat(ev string, p *message, fallback *party, kafkaTime time.Time) ([]event.Event, error) {
	var a csatAnswer
	if len(p.ContentAttributes) > 0 && string(p.ContentAttributes) != "null" {
		if err := json.Unmarshal(p.ContentAttributes, &a); err != nil {
			return nil, reasons.Reject(event.CodeWrongType, ev, "content_attributes", "content_attributes is not the object Chatwoot sends")
		}
	}
	r := a.SubmittedValues.CSATSurveyResponse
	if r == nil || r.Rating == "" {
		return nil, reasons.Skip(ev, "an update of a message without a CSAT answer (an edit or a delivery status) is not a timeline event")
	}
	rating, err := r.Rating.Int64()
	if err != nil {
		return nil, reasons.Reject(event.CodeWrongType, ev, "content_attributes.submitted_values.csat_survey_response.rating", "the CSAT rating is not a whole number")
	}
	e, err := d.base(ev, "conversation", p.Conversation, fallback)
	if err != nil {
		return nil, err
	}
	// The answer updates the survey message, which touches its
	// conversation: the conversation's updated_at is when it was answered.
	if e.OccurredAt, err = occurred(ev, kafkaTime, p.Conversation.UpdatedAt.Time, p.Conversation.Timestamp.Time, p.CreatedAt.Time); err != nil {
		return nil, err
	}
	e.EventID = "chatwoot:csat:" + string(p.ID) + ":" + r.Rating.String()
	e.Type = event.TypeSurvey
	e.Survey = &event.Survey{Kind: "csat", Score: int(rating), Comment: r.FeedbackMessage}
	e.Extra = extra{Event: ev, InboxID: string(p.Conversation.InboxID), ContentType: p.ContentType}.raw()
	return []event.Event{e}, nil
}

// deletion reads a message_updated that deletes a message: Chatwoot's
// messages controller (app/controllers/api/v1/accounts/conversations/
// messages_controller.rb, destroy) replaces the content with its "deleted"
// text and sets content_attributes.deleted, and the update is sent as
// message_updated. It becomes a warehouse.Revision of the stored message
// (warehouse/revise.go), dated when the webhook reached Kafka: the payload
// carries no time of the deletion. ok is false for any other message.
func deletion(ev string, p *message, kafkaTime time.Time) (rev warehouse.Revision, ok bool, err error) {
	if ev != "message_updated" || len(p.ContentAttributes) == 0 || string(p.ContentAttributes) == "null" {
		return rev, false, nil
	}
	var attrs struct {
		Deleted bool `json:"deleted"`
	}
	if json.Unmarshal(p.ContentAttributes, &attrs) != nil || !attrs.Deleted {
		return rev, false, nil // the CSAT reading says what is wrong with the attributes
	}
	if p.ID == "" {
		return rev, true, reasons.Missing(ev, "id")
	}
	if kafkaTime.IsZero() {
		return rev, true, reasons.Missing(ev, "the Kafka record's timestamp")
	}
	id := "chatwoot:msg:" + string(p.ID)
	return warehouse.Revision{ID: id + ":delete", EventID: id, Delete: true, At: kafkaTime.UTC()}, true, nil
}
