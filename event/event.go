// Package event defines cx.event/v1, the canonical interaction event that every
// source is decoded into, and owns its validation and normalization rules:
// phones in E.164, emails trimmed and lower case, times in UTC, unknown fields
// kept. It knows nothing about Kafka or storage.
package event

import (
	"encoding/json"
	"time"
)

// SchemaV1 is the value of the schema field of every canonical event.
const SchemaV1 = "cx.event/v1"

// Event types accepted by Decode.
const (
	TypeMessage            = "message"
	TypeConversationOpened = "conversation_opened"
	TypeHandoff            = "handoff"
	TypeAssigned           = "assigned"
	TypeResolved           = "resolved"
	TypeReopened           = "reopened"
	TypeSurvey             = "survey"
	TypeConsent            = "consent"
	TypeIdentityLink       = "identity_link"
)

// Event is one decoded, validated and normalized cx.event/v1 event.
// Optional sub-objects are nil when absent.
type Event struct {
	EventID        string
	Type           string
	OccurredAt     time.Time // always UTC
	Source         string
	Channel        string
	ConversationID string
	Contact        Identity
	ContactName    string
	Actor          Actor
	Message        *Message
	Handoff        *Handoff
	Survey         *Survey
	Consent        *Consent
	Link           *Identity

	// Extra holds the unknown top-level fields as a JSON object, or nil.
	Extra json.RawMessage
	// Raw is the message value as received.
	Raw []byte
}

// Identity is the set of identifiers that name a person.
type Identity struct {
	Phone string            // E.164, "+5511987654321"
	Email string            // trimmed, lower case
	IDs   map[string]string // per-channel ids, e.g. {"instagram": "ana.s"}
}

// Empty reports whether the identity carries no identifier at all.
func (id Identity) Empty() bool {
	if id.Phone != "" || id.Email != "" {
		return false
	}
	for _, v := range id.IDs {
		if v != "" {
			return false
		}
	}
	return true
}

// Actor is who did what the event records.
type Actor struct {
	Kind string // customer, bot, agent, system
	ID   string
	Team string
}

// Message is the content of a message event.
type Message struct {
	Direction string // inbound (from the customer) or outbound
	Text      string
	Private   bool
	Intent    string
}

// Handoff is the context a bot hands to a human.
type Handoff struct {
	Reason     string
	ToTeam     string
	Summary    string
	Fields     json.RawMessage // JSON object, or nil
	NextAction string
	Owner      string
	SLASeconds *int64
}

// The four items a good handoff carries (handoff completeness,
// docs/models.md), one bit each of Handoff.Items.
const (
	HandoffSummary    = 1 << iota // a non-empty summary
	HandoffFields                 // at least one entry in fields
	HandoffNextAction             // a non-empty next action
	HandoffOwnerSLA               // an owner and a positive sla_seconds
)

// Items reports which of the four items the handoff carried, as the bits
// HandoffSummary to HandoffOwnerSLA; 0 for a nil handoff.
func (h *Handoff) Items() int32 {
	if h == nil {
		return 0
	}
	var items int32
	if h.Summary != "" {
		items |= HandoffSummary
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(h.Fields, &m) == nil && len(m) > 0 {
		items |= HandoffFields
	}
	if h.NextAction != "" {
		items |= HandoffNextAction
	}
	if h.Owner != "" && h.SLASeconds != nil && *h.SLASeconds > 0 {
		items |= HandoffOwnerSLA
	}
	return items
}

// HasContext reports whether the handoff carried a summary and at least one field,
// the definition the handoff context rate counts.
func (h *Handoff) HasContext() bool {
	const context = HandoffSummary | HandoffFields
	return h.Items()&context == context
}

// Survey is a CSAT (1 to 5) or NPS (0 to 10) answer.
type Survey struct {
	Kind    string // csat or nps
	Score   int
	Comment string
}

// Consent is a grant or withdrawal of consent for one purpose.
type Consent struct {
	Purpose string
	Granted bool
	Basis   string
	Source  string
}
