package simulate

import (
	"strconv"
	"strings"
	"time"
)

// The JSON writer: each event is appended field by field to a byte slice,
// which is several times faster than encoding/json on structs. A non-nil
// defect bends the output into one of the malformed shapes.

const (
	layoutMillis  = "2006-01-02T15:04:05.000Z07:00"
	layoutSeconds = "2006-01-02T15:04:05Z07:00"
)

// render appends step s of thread t as one cx.event/v1 JSON object.
func (g *Generator) render(b []byte, t *thread, s *step, d *defect) []byte {
	g.serial++
	if d == nil {
		d = &noDefect
	}
	b = append(b, '{')
	if !d.omitSchema {
		b = key(b, "schema")
		b = appendString(b, cmp(d.schema, "cx.event/v1"))
	}
	if !d.omitEventID {
		b = key(b, "event_id")
		b = append(b, '"')
		b = appendULID(b, uint64(s.at/1e6), g.seedTag, g.serial)
		b = append(b, '"')
	}
	b = key(b, "type")
	b = appendString(b, cmp(d.typeName, kindNames[s.kind]))
	b = key(b, "occurred_at")
	switch {
	case d.timeNumber:
		b = strconv.AppendInt(b, s.at/1e6, 10)
	case d.timeLayout != "":
		b = append(b, '"')
		b = time.Unix(0, s.at).In(saoPaulo).AppendFormat(b, d.timeLayout)
		b = append(b, '"')
	default:
		layout := layoutSeconds
		if t.millis {
			layout = layoutMillis
		}
		b = append(b, '"')
		b = time.Unix(0, s.at).In(zones[t.zone]).AppendFormat(b, layout)
		b = append(b, '"')
	}
	b = key(b, "source")
	b = appendString(b, source(s))
	b = key(b, "channel")
	b = appendString(b, cmp(d.channel, profiles[t.channel].name))
	if t.convID != "" && s.kind != kConsent && !d.omitConv {
		b = key(b, "conversation_id")
		b = appendString(b, t.convID)
	} else if t.verbose {
		b = key(b, "conversation_id")
		b = append(b, "null"...)
	}
	switch {
	case d.omitContact:
	case d.contactString:
		b = key(b, "contact")
		b = appendString(b, t.person.key)
	default:
		b = key(b, "contact")
		b = g.appendContact(b, t, s, d)
	}
	b = g.appendActor(b, t, s, d)
	b = g.appendBody(b, t, s, d)
	if d == &noDefect && g.rng.Float64() < 0.008 {
		b = g.appendExtra(b)
	}
	return append(b, '}')
}

var noDefect defect

func cmp(override, value string) string {
	if override != "" {
		return override
	}
	return value
}

// key appends a member name, with the comma when a member precedes it.
func key(b []byte, k string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, k...)
	return append(b, '"', ':')
}

func source(s *step) string {
	switch {
	case s.kind == kSurvey || s.kind == kConsent:
		return "cxlake-sim"
	case s.actor == actorBot:
		return "botpress"
	}
	return "chatwoot"
}

func (g *Generator) appendActor(b []byte, t *thread, s *step, d *defect) []byte {
	switch {
	case d.omitActor:
		return b
	case d.actorString:
		b = key(b, "actor")
		return appendString(b, actorNames[s.actor])
	case s.actor == actorNone:
		if t.verbose {
			b = key(b, "actor")
			b = append(b, "null"...)
		}
		return b
	}
	b = key(b, "actor")
	b = append(b, `{"kind":`...)
	b = appendString(b, actorNames[s.actor])
	var id, team string
	switch s.actor {
	case actorBot:
		id = profiles[t.channel].botID
	case actorAgent:
		id, team = agentIDs[s.agent], teamNames[int(s.agent)/agentsPerTeam]
	case actorSystem:
		id = "auto-resolver"
	}
	if id != "" || t.verbose {
		b = append(b, `,"id":`...)
		b = appendString(b, id)
	}
	if team != "" || t.verbose {
		b = append(b, `,"team":`...)
		b = appendString(b, team)
	}
	return append(b, '}')
}

// appendBody appends the type's own object (message, handoff, survey,
// consent or link) and, for verbose producers, the others as null.
func (g *Generator) appendBody(b []byte, t *thread, s *step, d *defect) []byte {
	if s.kind == kMessage {
		b = key(b, "message")
		b = append(b, `{"direction":`...)
		if s.actor == actorCustomer {
			b = append(b, `"inbound"`...)
		} else {
			b = append(b, `"outbound"`...)
		}
		b = append(b, `,"text":`...)
		if d.rawText != "" {
			b = append(b, '"')
			b = append(b, d.rawText...)
			b = append(b, '"')
		} else {
			b = appendText(b, s.text, t.ref)
		}
		if s.flags&flagPrivate != 0 {
			b = append(b, `,"private":true`...)
		} else if t.verbose {
			b = append(b, `,"private":false`...)
		}
		if s.flags&flagIntent != 0 {
			b = append(b, `,"intent":`...)
			b = appendString(b, intents[t.intent].name)
		}
		b = append(b, '}')
	} else if t.verbose {
		b = append(b, `,"message":null`...)
	}
	if s.kind == kHandoff {
		b = g.appendHandoff(b, t)
	} else if t.verbose {
		b = append(b, `,"handoff":null`...)
	}
	if s.kind == kSurvey {
		b = key(b, "survey")
		b = append(b, `{"kind":`...)
		if s.sub == subCSAT {
			b = append(b, `"csat"`...)
		} else {
			b = append(b, `"nps"`...)
		}
		if !d.omitScore {
			b = append(b, `,"score":`...)
			b = strconv.AppendInt(b, int64(s.score), 10)
		}
		if s.text != "" || t.verbose {
			b = append(b, `,"comment":`...)
			b = appendString(b, s.text)
		}
		b = append(b, '}')
	} else if t.verbose {
		b = append(b, `,"survey":null`...)
	}
	if s.kind == kConsent {
		b = key(b, "consent")
		b = append(b, `{"purpose":`...)
		b = appendString(b, purposes[s.sub])
		b = append(b, `,"granted":`...)
		b = strconv.AppendBool(b, s.granted)
		b = append(b, `,"basis":"consent","source":`...)
		b = appendString(b, s.text)
		b = append(b, '}')
	} else if t.verbose {
		b = append(b, `,"consent":null`...)
	}
	if s.kind == kLink {
		p := t.person
		b = key(b, "link")
		b = append(b, `{"email":`...)
		b = appendEmail(b, p.email, t.emailFmt)
		if t.crossIDs && p.phone != "" {
			b = append(b, `,"phone":`...)
			b = appendPhone(b, p.phone, 0)
		}
		b = append(b, '}')
	} else if t.verbose {
		b = append(b, `,"link":null`...)
	}
	return b
}

func (g *Generator) appendHandoff(b []byte, t *thread) []byte {
	h, in := &t.ho, &intents[t.intent]
	b = key(b, "handoff")
	b = append(b, `{"reason":`...)
	b = appendString(b, handoffReasons[h.reason])
	b = append(b, `,"to_team":`...)
	b = appendString(b, teamNames[t.team])
	switch h.summary {
	case 1:
		b = append(b, `,"summary":`...)
		b = appendText(b, in.summary[t.person.lang][0], t.ref)
	case 2:
		b = append(b, `,"summary":""`...)
	}
	switch h.fields {
	case 1:
		b = append(b, `,"fields":{`...)
		for i, f := range in.fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.key)
			b = append(b, ':')
			b = appendText(b, f.val, t.ref)
		}
		b = append(b, '}')
	case 2:
		b = append(b, `,"fields":{}`...)
	}
	if h.next {
		b = append(b, `,"next_action":`...)
		b = appendString(b, in.nextAction)
	}
	switch h.owner {
	case 1:
		b = append(b, `,"owner":"queue:`...)
		b = append(b, teamNames[t.team]...)
		b = append(b, '"')
	case 2:
		b = append(b, `,"owner":`...)
		b = appendString(b, agentIDs[t.agent])
	}
	if h.sla {
		b = append(b, `,"sla_seconds":`...)
		b = strconv.AppendInt(b, profiles[t.channel].sla, 10)
	}
	return append(b, '}')
}

// appendExtra adds a field this schema version does not know (schema evolution).
func (g *Generator) appendExtra(b []byte) []byte {
	switch g.rng.IntN(3) {
	case 0:
		b = key(b, "trace_id")
		b = append(b, '"')
		b = appendPadded(b, g.rng.Uint64(), 16, 16)
		b = appendPadded(b, g.rng.Uint64(), 16, 16)
		return append(b, '"')
	case 1:
		b = key(b, "x_tenant")
		return append(b, `"acme-br"`...)
	}
	b = key(b, "meta")
	b = append(b, `{"sdk":"chatwoot-v3.14","retries":`...)
	b = strconv.AppendInt(b, int64(g.rng.IntN(3)), 10)
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		start = i + 1
	}
	return append(b, s[start:]...)
}

// appendText appends template tmpl as a JSON string, with "{n}" replaced by ref.
func appendText(b []byte, tmpl string, ref uint32) []byte {
	b = append(b, '"')
	for {
		before, after, found := strings.Cut(tmpl, "{n}")
		b = appendEscaped(b, before)
		if !found {
			break
		}
		b = strconv.AppendUint(b, uint64(ref), 10)
		tmpl = after
	}
	return append(b, '"')
}
