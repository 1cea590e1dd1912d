package ingest

import (
	"fmt"
	"slices"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/warehouse"
)

// Source decodes the topics of one source format that is not cx.event/v1
// (Chatwoot webhooks, Evolution API events) into canonical events. The
// Assembler gives each message to the source that names its topic; a topic
// no source names carries cx.event/v1.
type Source interface {
	// Name is the source's name ("chatwoot", "evolution"), recorded with
	// the messages it skips.
	Name() string
	// Topics are the topics this source decodes. The consumer subscribes to
	// them (Consumer.WithSources).
	Topics() []string
	// Decode decodes msgs, this source's messages of one batch in the order
	// they were read, and returns one Outcome per message in the same
	// order. Calls never overlap, so a source may keep state from one batch
	// to the next (Evolution API's conversation boundaries).
	Decode(msgs []Message) []Outcome
}

// Outcome is what one source message became: events, a dead letter, or a
// skip. It is a processor's result in the Benthos sense, with "no events"
// always explained.
type Outcome struct {
	// Events decoded from the message, each a valid cx.event/v1 event. One
	// message may give several (an Evolution contacts.upsert lists many).
	Events []event.Event
	// Revisions are edits and deletions of messages already sent
	// (warehouse/revise.go): a message may give them instead of events.
	// Their coordinates are set from the message.
	Revisions []warehouse.Revision
	// Err makes the message a dead letter when it is not a *SkipError: the
	// payload does not decode. A *event.RejectError gives the reason code;
	// its Reason must tell a person what to fix without quoting personal
	// data. A *SkipError records the message as skipped instead.
	Err error
	// Stored, when not nil, is what a dead letter keeps as the raw bytes
	// instead of the message value: the value with its secrets removed.
	Stored []byte
}

// Reason codes of a SkipError.
const (
	// SkipUnknownEvent: an event name the source does not decode.
	SkipUnknownEvent = "unknown_event"
	// SkipNoTimelineEvent: a known event that carries nothing for the
	// timeline (a delivery receipt, a label change, an address-book sync).
	SkipNoTimelineEvent = "no_timeline_event"
)

// SkipError says why a source message that decoded gives no event. It is
// counted and stored in skipped_messages, never silent and never a crash.
type SkipError struct {
	Code      string // SkipUnknownEvent or SkipNoTimelineEvent
	EventName string // the source's event name, when known
	Reason    string // what was skipped and why; never quotes personal data
}

func (e *SkipError) Error() string { return e.Reason }

// WithSources makes the consumer decode the topics of srcs with them, and
// subscribe to those topics as well as its configured ones. Call it before Run.
func (c *Consumer) WithSources(srcs ...Source) *Consumer {
	c.asm.Sources = append(c.asm.Sources, srcs...)
	for _, s := range srcs {
		for _, t := range s.Topics() {
			if !slices.Contains(c.cfg.Topics, t) {
				c.cfg.Topics = append(c.cfg.Topics, t)
			}
		}
	}
	return c
}

// assembleSources is Assemble when sources are configured: the canonical
// messages are decoded as without sources, each source decodes its own, and
// the results share one batch.
func (a *Assembler) assembleSources(msgs []Message) *warehouse.Batch {
	owner := map[string]int{}
	for i, s := range a.Sources {
		for _, t := range s.Topics() {
			if _, ok := owner[t]; !ok {
				owner[t] = i
			}
		}
	}
	var canonical []Message
	per := make([][]Message, len(a.Sources))
	for _, m := range msgs {
		if i, ok := owner[m.Topic]; ok {
			per[i] = append(per[i], m)
		} else {
			canonical = append(canonical, m)
		}
	}
	plain := *a
	plain.Sources = nil
	b := plain.Assemble(canonical)
	for i, s := range a.Sources {
		if len(per[i]) == 0 {
			continue
		}
		outs := s.Decode(per[i])
		if len(outs) != len(per[i]) {
			// A bug in the source: keep every message as a dead letter rather than guess.
			err := fmt.Errorf("source %s returned %d outcomes for %d messages", s.Name(), len(outs), len(per[i]))
			outs = make([]Outcome, len(per[i]))
			for j := range outs {
				outs[j].Err = err
			}
		}
		for j, m := range per[i] {
			addSpan(b, m)
			addOutcome(b, s.Name(), m, outs[j])
		}
	}
	return b
}

// addSpan widens b's span of m's topic-partition to cover m.
func addSpan(b *warehouse.Batch, m Message) {
	for k := range b.Spans {
		s := &b.Spans[k]
		if s.Topic == m.Topic && s.Partition == m.Partition {
			s.FirstOffset, s.LastOffset = min(s.FirstOffset, m.Offset), max(s.LastOffset, m.Offset)
			s.Messages++
			s.HighWaterMark = max(s.HighWaterMark, m.HighWaterMark)
			return
		}
	}
	b.Spans = append(b.Spans, warehouse.Span{Topic: m.Topic, Partition: m.Partition, FirstOffset: m.Offset, LastOffset: m.Offset,
		Messages: 1, HighWaterMark: m.HighWaterMark})
}

func addOutcome(b *warehouse.Batch, source string, m Message, o Outcome) {
	if o.Err == nil && len(o.Events) == 0 && len(o.Revisions) == 0 {
		o.Err = &SkipError{Code: SkipNoTimelineEvent, Reason: "the message decoded to no event"}
	}
	if skip, ok := o.Err.(*SkipError); ok {
		b.Skipped = append(b.Skipped, warehouse.Skip{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
			Source: source, EventName: eventName(skip.EventName), ReasonCode: skip.Code, Reason: skip.Reason})
		return
	}
	if o.Err != nil {
		if o.Stored != nil {
			m.Value = o.Stored
		}
		b.DeadLetters = append(b.DeadLetters, deadLetter(m, o.Err))
		return
	}
	for _, r := range o.Revisions {
		r.Topic, r.Partition, r.Offset = m.Topic, m.Partition, m.Offset
		b.Revisions = append(b.Revisions, r)
	}
	for _, ev := range o.Events {
		b.Records = append(b.Records, warehouse.Record{Event: ev, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset})
	}
}

// eventName keeps an event name for skipped_messages only when it looks
// like one (an ASCII letter, then letters, digits, '.', '_', ':' or '-', at
// most 64 bytes): a producer could put anything in its event field.
func eventName(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-')) {
			return ""
		}
	}
	return s
}
