package privacy

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/cxlake/cxlake/event"
)

// Content is the personal part of an event that the events table keeps
// only sealed (the content column): every free text a producer writes
// (message text and intent, handoff summary, fields, reason, next action
// and owner, survey comment, the actor's id, a consent's basis and
// source), the contact's display name, unknown fields and the raw payload.
// Identifiers are not here: they are sealed once each in the identifiers
// table. The events table's columns actor_id, message_intent,
// handoff_reason, handoff_next_action and handoff_owner are null since
// layout 2, consent_basis and consent_source since layout 3
// (docs/tables.md).
type Content struct {
	ContactName       string          `json:"contact_name,omitempty"`
	MessageText       string          `json:"message_text,omitempty"`
	HandoffSummary    string          `json:"handoff_summary,omitempty"`
	HandoffFields     json.RawMessage `json:"handoff_fields,omitempty"`
	SurveyComment     string          `json:"survey_comment,omitempty"`
	Extra             json.RawMessage `json:"extra,omitempty"`
	ActorID           string          `json:"actor_id,omitempty"`
	MessageIntent     string          `json:"message_intent,omitempty"`
	HandoffReason     string          `json:"handoff_reason,omitempty"`
	HandoffNextAction string          `json:"handoff_next_action,omitempty"`
	HandoffOwner      string          `json:"handoff_owner,omitempty"`
	ConsentBasis      string          `json:"consent_basis,omitempty"`
	ConsentSource     string          `json:"consent_source,omitempty"`
	Raw               []byte          `json:"-"`
}

// Content layouts, the first byte of an encoded content: 1 has the first
// seven fields; 2 adds the producer free texts that layout 1 left in clear
// columns (ActorID to HandoffOwner); 3 adds a consent's basis and source,
// which layout 2 left in clear columns.
const (
	ContentV1      = 1
	ContentV2      = 2
	ContentV3      = 3
	ContentVersion = ContentV3
)

// FreeText is the producer free text of an event that layouts 2 and 3
// seal: what encodeContent takes from the event, and what the upgrade of a
// data directory written before layout 3 takes from the clear columns.
type FreeText struct {
	ActorID, MessageIntent, HandoffReason, HandoffNextAction, HandoffOwner string
	ConsentBasis, ConsentSource                                            string
}

// freeTextOf returns e's producer free text.
func freeTextOf(e *event.Event) FreeText {
	f := FreeText{ActorID: e.Actor.ID}
	if m := e.Message; m != nil {
		f.MessageIntent = m.Intent
	}
	if h := e.Handoff; h != nil {
		f.HandoffReason, f.HandoffNextAction, f.HandoffOwner = h.Reason, h.NextAction, h.Owner
	}
	if c := e.Consent; c != nil {
		f.ConsentBasis, f.ConsentSource = c.Basis, c.Source
	}
	return f
}

// encodeContent appends the content of e to dst: a version byte, then each
// field as a uvarint length and its bytes.
func encodeContent(e *event.Event, dst []byte) []byte {
	dst = append(dst, ContentVersion)
	put := func(b []byte) {
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	puts := func(s string) {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	puts(e.ContactName)
	if m := e.Message; m != nil {
		puts(m.Text)
	} else {
		puts("")
	}
	if h := e.Handoff; h != nil {
		puts(h.Summary)
		put(h.Fields)
	} else {
		puts("")
		put(nil)
	}
	if s := e.Survey; s != nil {
		puts(s.Comment)
	} else {
		puts("")
	}
	put(e.Extra)
	put(e.Raw)
	f := freeTextOf(e)
	for _, v := range []string{f.ActorID, f.MessageIntent, f.HandoffReason, f.HandoffNextAction, f.HandoffOwner,
		f.ConsentBasis, f.ConsentSource} {
		puts(v)
	}
	return dst
}

// encodeContentOf appends c in the current layout to dst: the inverse of
// decodeContent, for content sealed again (the upgrade of layouts 1 and 2).
func encodeContentOf(c Content, dst []byte) []byte {
	dst = append(dst, ContentVersion)
	for _, v := range [][]byte{[]byte(c.ContactName), []byte(c.MessageText), []byte(c.HandoffSummary), c.HandoffFields,
		[]byte(c.SurveyComment), c.Extra, c.Raw, []byte(c.ActorID), []byte(c.MessageIntent), []byte(c.HandoffReason),
		[]byte(c.HandoffNextAction), []byte(c.HandoffOwner), []byte(c.ConsentBasis), []byte(c.ConsentSource)} {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

var errBadContent = errors.New("sealed content has an unknown layout")

// decodeContent is the inverse of encodeContent.
func decodeContent(b []byte) (Content, error) {
	var c Content
	if len(b) == 0 {
		return c, errBadContent
	}
	var fields [][]byte
	switch b[0] {
	case ContentV1:
		fields = make([][]byte, 7)
	case ContentV2:
		fields = make([][]byte, 12)
	case ContentV3:
		fields = make([][]byte, 14)
	default:
		return c, errBadContent
	}
	b = b[1:]
	next := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < n {
			return nil, errBadContent
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, nil
	}
	for i := range fields {
		v, err := next()
		if err != nil {
			return c, err
		}
		fields[i] = v
	}
	c.ContactName, c.MessageText, c.HandoffSummary = string(fields[0]), string(fields[1]), string(fields[2])
	if len(fields[3]) > 0 {
		c.HandoffFields = json.RawMessage(fields[3])
	}
	c.SurveyComment = string(fields[4])
	if len(fields[5]) > 0 {
		c.Extra = json.RawMessage(fields[5])
	}
	c.Raw = fields[6]
	if len(fields) > 7 {
		c.ActorID, c.MessageIntent, c.HandoffReason = string(fields[7]), string(fields[8]), string(fields[9])
		c.HandoffNextAction, c.HandoffOwner = string(fields[10]), string(fields[11])
	}
	if len(fields) > 12 {
		c.ConsentBasis, c.ConsentSource = string(fields[12]), string(fields[13])
	}
	if len(b) != 0 {
		return c, errBadContent
	}
	return c, nil
}

// ContentJSON is Content as a compliance reader sees it: the raw payload
// as text.
type ContentJSON struct {
	Content
	Raw string `json:"raw,omitempty"`
}

// JSON returns c as a compliance reader sees it.
func (c Content) JSON() ContentJSON { return ContentJSON{Content: c, Raw: string(c.Raw)} }
