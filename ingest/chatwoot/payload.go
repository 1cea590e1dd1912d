package chatwoot

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/ingest"
)

// The shapes below are the webhook payloads as Chatwoot builds them:
// Message#webhook_data, Conversation#webhook_data
// (Conversations::EventDataPresenter#push_data), Contact#webhook_data,
// User#webhook_data and AgentBot#webhook_data, with event and
// changed_attributes merged in by WebhookListener. Only the fields cxlake
// uses are declared; the rest is kept in the raw payload.

// message is the payload of message_created and message_updated.
type message struct {
	ID                ref             `json:"id"`
	Content           string          `json:"content"`
	CreatedAt         stamp           `json:"created_at"`
	MessageType       messageType     `json:"message_type"`
	ContentType       string          `json:"content_type"`
	Private           bool            `json:"private"`
	ContentAttributes json.RawMessage `json:"content_attributes"`
	Sender            *party          `json:"sender"`
	Inbox             *struct {
		ID ref `json:"id"`
	} `json:"inbox"`
	Conversation *conversation `json:"conversation"`
}

// conversation is the payload of the conversation_* events, and the
// conversation embedded in a message's payload. id is the display id,
// unique within an account; inbox ids are unique in the installation.
type conversation struct {
	ID      ref    `json:"id"`
	InboxID ref    `json:"inbox_id"`
	Channel string `json:"channel"` // the inbox's channel type, Channel::WebWidget
	Status  string `json:"status"`  // open, pending, resolved, snoozed
	Meta    struct {
		Sender   *party `json:"sender"`   // the contact
		Assignee *party `json:"assignee"` // a user, or an agent bot (type agent_bot)
		// AssigneeType is "User" or "AgentBot" (Conversation#assignee_type,
		// sent since Chatwoot made the assignee polymorphic).
		AssigneeType string `json:"assignee_type"`
		Team         *struct {
			ID   ref    `json:"id"`
			Name string `json:"name"`
		} `json:"team"`
	} `json:"meta"`
	AdditionalAttributes json.RawMessage     `json:"additional_attributes"`
	CreatedAt            stamp               `json:"created_at"`
	UpdatedAt            stamp               `json:"updated_at"`
	Timestamp            stamp               `json:"timestamp"` // last activity
	ChangedAttributes    []map[string]change `json:"changed_attributes"`
}

// party is a contact, a user (agent) or an agent bot.
type party struct {
	ID          ref    `json:"id"`
	Name        string `json:"name"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phone_number"`
	Identifier  string `json:"identifier"`
	Type        string `json:"type"` // contact, user, agent_bot, captain_assistant
}

// contact is the payload of contact_created and contact_updated.
type contact struct {
	party
	CreatedAt stamp `json:"created_at"`
	UpdatedAt stamp `json:"updated_at"`
}

// change is one member of changed_attributes:
// [{"assignee_id": {"previous_value": null, "current_value": 3}}, ...].
type change struct {
	Previous json.RawMessage `json:"previous_value"`
	Current  json.RawMessage `json:"current_value"`
}

// changed returns the change of attribute key, if the payload lists one.
func (c *conversation) changed(key string) (change, bool) {
	for _, m := range c.ChangedAttributes {
		if ch, ok := m[key]; ok {
			return ch, true
		}
	}
	return change{}, false
}

// changedKeys lists the changed attributes, for reasons (attribute names
// are Chatwoot's column names, not personal data).
func (c *conversation) changedKeys() []string {
	var keys []string
	for _, m := range c.ChangedAttributes {
		for k := range m {
			keys = append(keys, k)
		}
	}
	return keys
}

// ref is an id Chatwoot sends as a number or as a string ("1" in older
// samples); "" when absent or null.
type ref string

func (r *ref) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*r = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = ref(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return &json.UnmarshalTypeError{Value: ingest.JSONKind(b), Type: typeOfRef}
		}
		*r = ref(n.String())
	}
	return nil
}

// stamp is a time Chatwoot sends as Unix seconds (an integer, or a float
// for updated_at), or as a string: RFC 3339 ("2021-07-23T18:02:48.000Z") or
// Rails' "2020-03-03 13:05:57 UTC". Zero when absent or null.
type stamp struct{ time.Time }

func (s *stamp) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" || string(b) == `""` {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05.999999 MST", "2006-01-02 15:04:05 -0700"} {
			if t, err := time.Parse(layout, str); err == nil {
				s.Time = t.UTC()
				return nil
			}
		}
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			return s.unix(f)
		}
		return &json.UnmarshalTypeError{Value: "a string that is not a time", Type: typeOfStamp}
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return &json.UnmarshalTypeError{Value: ingest.JSONKind(b), Type: typeOfStamp}
	}
	return s.unix(f)
}

func (s *stamp) unix(f float64) error {
	if f <= 0 || f > 1e11 {
		return &json.UnmarshalTypeError{Value: "a time out of range", Type: typeOfStamp}
	}
	sec, frac := math.Modf(f)
	s.Time = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
	return nil
}

// messageType is incoming, outgoing, activity or template; Chatwoot sends
// the name, or in push_event_data the enum's number (0 to 3).
type messageType string

func (m *messageType) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*m = messageType(s)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil || n < 0 || n > 3 {
		return &json.UnmarshalTypeError{Value: ingest.JSONKind(b), Type: typeOfMessageType}
	}
	*m = messageType([]string{"incoming", "outgoing", "activity", "template"}[n])
	return nil
}

var (
	typeOfRef         = reflect.TypeFor[ref]()
	typeOfStamp       = reflect.TypeFor[stamp]()
	typeOfMessageType = reflect.TypeFor[messageType]()
)
