package event

import (
	"encoding/binary"
	"slices"
)

// canonicalVersion starts every canonical encoding; a change to the
// encoding is a new version (and makes stored content hashes differ).
const canonicalVersion = 1

// AppendCanonical appends the event's content in one encoding to dst:
// what makes two deliveries under one event_id the same event (the
// warehouse stores a keyed hash of it beside the id, and a delivery that
// differs is a dead letter, CodeEventIDReused). It covers every field the
// warehouse interprets, as decoded and normalized (E.164 phones, lower-case
// e-mails, times in UTC), and leaves out two:
//
//   - Raw, the bytes as received: a source may send one event in two
//     envelopes (Evolution sends an own message as messages.upsert and as
//     send.message; a producer may re-serialize with other spacing or key
//     order), and these are one event;
//   - Extra, the unknown fields and the source's envelope details (which
//     Evolution or Chatwoot event delivered it): they are kept, not
//     interpreted, so they do not make another event.
//
// The encoding is a version byte, then each field in the order of the
// struct: strings and raw JSON as a uvarint length and the bytes, numbers
// as varints, booleans and the presence of optional parts as one byte, and
// the per-channel ids sorted by channel. It does not allocate when dst has
// room. TestCanonicalCoversEveryField holds it to every field.
func (e *Event) AppendCanonical(dst []byte) []byte {
	c := canon(append(dst, canonicalVersion))
	c.str(e.EventID)
	c.str(e.Type)
	c.int(e.OccurredAt.Unix())
	c.int(int64(e.OccurredAt.Nanosecond()))
	c.str(e.Source)
	c.str(e.Channel)
	c.str(e.ConversationID)
	c.identity(&e.Contact)
	c.str(e.ContactName)
	c.str(e.Actor.Kind)
	c.str(e.Actor.ID)
	c.str(e.Actor.Team)
	if m := e.Message; c.present(m != nil) {
		c.str(m.Direction)
		c.str(m.Text)
		c.bool(m.Private)
		c.str(m.Intent)
	}
	if h := e.Handoff; c.present(h != nil) {
		c.str(h.Reason)
		c.str(h.ToTeam)
		c.str(h.Summary)
		c.str(string(h.Fields))
		c.str(h.NextAction)
		c.str(h.Owner)
		if c.present(h.SLASeconds != nil) {
			c.int(*h.SLASeconds)
		}
	}
	if s := e.Survey; c.present(s != nil) {
		c.str(s.Kind)
		c.int(int64(s.Score))
		c.str(s.Comment)
	}
	if k := e.Consent; c.present(k != nil) {
		c.str(k.Purpose)
		c.bool(k.Granted)
		c.str(k.Basis)
		c.str(k.Source)
	}
	if l := e.Link; c.present(l != nil) {
		c.identity(l)
	}
	return []byte(c)
}

type canon []byte

func (c *canon) str(s string) {
	*c = append(binary.AppendUvarint(*c, uint64(len(s))), s...)
}

func (c *canon) int(v int64) { *c = binary.AppendVarint(*c, v) }

func (c *canon) bool(b bool) {
	if b {
		*c = append(*c, 1)
	} else {
		*c = append(*c, 0)
	}
}

func (c *canon) present(ok bool) bool { c.bool(ok); return ok }

func (c *canon) identity(id *Identity) {
	c.str(id.Phone)
	c.str(id.Email)
	c.int(int64(len(id.IDs)))
	if len(id.IDs) == 0 {
		return
	}
	var buf [8]string
	chans := buf[:0]
	for ch := range id.IDs {
		chans = append(chans, ch)
	}
	slices.Sort(chans)
	for _, ch := range chans {
		c.str(ch)
		c.str(id.IDs[ch])
	}
}
