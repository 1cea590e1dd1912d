package warehouse

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/cxlake/cxlake/event"
)

// Content is the personal part of an event that the events table keeps
// only sealed (the content column): free texts, the contact's display
// name, unknown fields and the raw payload. Identifiers are not here: they
// are sealed once each in the identifiers table.
type Content struct {
	ContactName    string          `json:"contact_name,omitempty"`
	MessageText    string          `json:"message_text,omitempty"`
	HandoffSummary string          `json:"handoff_summary,omitempty"`
	HandoffFields  json.RawMessage `json:"handoff_fields,omitempty"`
	SurveyComment  string          `json:"survey_comment,omitempty"`
	Extra          json.RawMessage `json:"extra,omitempty"`
	Raw            []byte          `json:"-"`
}

const contentVersion = 1

// encodeContent appends the content of e to dst: a version byte, then each
// field as a uvarint length and its bytes.
func encodeContent(e *event.Event, dst []byte) []byte {
	dst = append(dst, contentVersion)
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
	return dst
}

var errBadContent = errors.New("sealed content has an unknown layout")

// decodeContent is the inverse of encodeContent.
func decodeContent(b []byte) (Content, error) {
	var c Content
	if len(b) == 0 || b[0] != contentVersion {
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
	fields := make([][]byte, 7)
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
	return c, nil
}
