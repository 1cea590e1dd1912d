package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// Encode writes e as one cx.event/v1 JSON object: the inverse of Decode.
// Empty optional fields are left out, OccurredAt is written in RFC 3339 with
// nanoseconds, and the members of e.Extra (a JSON object, or nil) are written
// at the top level, as Decode found them. Raw is not written.
//
// Source decoders (Chatwoot, Evolution API) build an Event, Encode it and
// Decode the result, so that every source passes the same validation and
// normalization as canonical messages.
func Encode(e *Event) ([]byte, error) {
	out := wireEvent{
		Schema:         SchemaV1,
		EventID:        e.EventID,
		Type:           e.Type,
		OccurredAt:     e.OccurredAt.Format(time.RFC3339Nano),
		Source:         e.Source,
		Channel:        e.Channel,
		ConversationID: e.ConversationID,
		Contact:        wireIdentityOf(e.Contact),
		Message:        wireMessageOf(e.Message),
		Handoff:        wireHandoffOf(e.Handoff),
		Survey:         wireSurveyOf(e.Survey),
		Consent:        wireConsentOf(e.Consent),
	}
	out.Contact.Name = e.ContactName
	if e.Actor != (Actor{}) {
		out.Actor = &wireActor{Kind: e.Actor.Kind, ID: e.Actor.ID, Team: e.Actor.Team}
	}
	if e.Link != nil {
		l := wireIdentityOf(*e.Link)
		out.Link = &l
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encoding an event: %w", err)
	}
	extra := bytes.TrimSpace(e.Extra)
	if len(extra) == 0 || bytes.Equal(extra, []byte("null")) {
		return b, nil
	}
	if extra[0] != '{' || !json.Valid(extra) {
		return nil, fmt.Errorf("encoding an event: Extra is not a JSON object")
	}
	inner := bytes.TrimSpace(extra[1 : len(extra)-1])
	if len(inner) == 0 {
		return b, nil
	}
	// b ends with '}': splice the extra members in before it.
	merged := make([]byte, 0, len(b)+len(inner)+1)
	merged = append(merged, b[:len(b)-1]...)
	merged = append(merged, ',')
	merged = append(merged, inner...)
	return append(merged, '}'), nil
}

type wireEvent struct {
	Schema         string        `json:"schema"`
	EventID        string        `json:"event_id"`
	Type           string        `json:"type"`
	OccurredAt     string        `json:"occurred_at"`
	Source         string        `json:"source,omitempty"`
	Channel        string        `json:"channel,omitempty"`
	ConversationID string        `json:"conversation_id,omitempty"`
	Contact        wireIdentity  `json:"contact"`
	Actor          *wireActor    `json:"actor,omitempty"`
	Message        *wireMessage  `json:"message,omitempty"`
	Handoff        *wireHandoff  `json:"handoff,omitempty"`
	Survey         *wireSurvey   `json:"survey,omitempty"`
	Consent        *wireConsent  `json:"consent,omitempty"`
	Link           *wireIdentity `json:"link,omitempty"`
}

type wireIdentity struct {
	Phone string            `json:"phone,omitempty"`
	Email string            `json:"email,omitempty"`
	IDs   map[string]string `json:"ids,omitempty"`
	Name  string            `json:"name,omitempty"`
}

func wireIdentityOf(id Identity) wireIdentity {
	return wireIdentity{Phone: id.Phone, Email: id.Email, IDs: id.IDs}
}

type wireActor struct {
	Kind string `json:"kind,omitempty"`
	ID   string `json:"id,omitempty"`
	Team string `json:"team,omitempty"`
}

type wireMessage struct {
	Direction string `json:"direction,omitempty"`
	Text      string `json:"text,omitempty"`
	Private   bool   `json:"private,omitempty"`
	Intent    string `json:"intent,omitempty"`
}

func wireMessageOf(m *Message) *wireMessage {
	if m == nil {
		return nil
	}
	return &wireMessage{m.Direction, m.Text, m.Private, m.Intent}
}

type wireHandoff struct {
	Reason     string          `json:"reason,omitempty"`
	ToTeam     string          `json:"to_team,omitempty"`
	Summary    string          `json:"summary,omitempty"`
	Fields     json.RawMessage `json:"fields,omitempty"`
	NextAction string          `json:"next_action,omitempty"`
	Owner      string          `json:"owner,omitempty"`
	SLASeconds *int64          `json:"sla_seconds,omitempty"`
}

func wireHandoffOf(h *Handoff) *wireHandoff {
	if h == nil {
		return nil
	}
	return &wireHandoff{h.Reason, h.ToTeam, h.Summary, h.Fields, h.NextAction, h.Owner, h.SLASeconds}
}

type wireSurvey struct {
	Kind    string `json:"kind"`
	Score   int    `json:"score"`
	Comment string `json:"comment,omitempty"`
}

func wireSurveyOf(s *Survey) *wireSurvey {
	if s == nil {
		return nil
	}
	return &wireSurvey{s.Kind, s.Score, s.Comment}
}

type wireConsent struct {
	Purpose string `json:"purpose"`
	Granted bool   `json:"granted"`
	Basis   string `json:"basis,omitempty"`
	Source  string `json:"source,omitempty"`
}

func wireConsentOf(c *Consent) *wireConsent {
	if c == nil {
		return nil
	}
	return &wireConsent{c.Purpose, c.Granted, c.Basis, c.Source}
}
