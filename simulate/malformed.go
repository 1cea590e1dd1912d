package simulate

import (
	"time"
)

// defect bends render's output into a malformed message. The zero value
// renders a valid event.
type defect struct {
	omitSchema, omitEventID, omitConv, omitContact, omitActor, omitScore bool
	emptyContact, contactString, actorString, timeNumber                 bool

	schema, typeName, channel, timeLayout, badPhone, rawText string
}

// Defect names, as in Message.Defect. Each one fails event.Decoder with the
// reason code noted.
const (
	DefectEmpty         = "empty"          // no bytes, or only white space: empty_payload
	DefectNotJSON       = "not_json"       // truncated JSON, HTML or plain text: not_json
	DefectInvalidUTF8   = "invalid_utf8"   // Latin-1 text: invalid_utf8
	DefectNotObject     = "not_object"     // a JSON array or string: wrong_type
	DefectWrongType     = "wrong_type"     // occurred_at as a number, contact or actor as a string: wrong_type
	DefectMissingField  = "missing_field"  // no schema, event_id, contact identifier, conversation_id, actor or survey score: missing_field
	DefectUnknownType   = "unknown_type"   // a type this schema does not define: unknown_type
	DefectNoOffset      = "no_offset"      // occurred_at without a UTC offset: bad_timestamp
	DefectBadScore      = "bad_score"      // csat outside 1..5 or nps outside 0..10: invalid_value
	DefectBadSchema     = "bad_schema"     // another schema version: unsupported_schema
	DefectBadIdentifier = "bad_identifier" // contact.phone that is not a phone number: invalid_value
	DefectBadChannel    = "bad_channel"    // a channel outside the list: invalid_value
)

var defects = []struct {
	name   string
	weight float64
}{
	{DefectEmpty, 8}, {DefectNotJSON, 12}, {DefectInvalidUTF8, 10}, {DefectNotObject, 3},
	{DefectWrongType, 14}, {DefectMissingField, 16}, {DefectUnknownType, 10}, {DefectNoOffset, 10},
	{DefectBadScore, 8}, {DefectBadSchema, 4}, {DefectBadIdentifier, 3}, {DefectBadChannel, 2},
}

var defectTotal = func() (s float64) {
	for _, d := range defects {
		s += d.weight
	}
	return s
}()

// Defects returns the names of all defects the generator produces.
func Defects() []string {
	names := make([]string, len(defects))
	for i, d := range defects {
		names[i] = d.name
	}
	return names
}

// malformed returns a deliberately broken message about an ongoing
// conversation, as a faulty producer would send it. It does not advance the
// stream.
func (g *Generator) malformed() Message {
	now := g.top().at
	t := g.conversation()
	r := g.rng
	u := r.Float64() * defectTotal
	i := 0
	for ; i < len(defects)-1 && u >= defects[i].weight; i++ {
		u -= defects[i].weight
	}
	name := defects[i].name
	s := step{at: now, kind: kMessage, actor: actorCustomer, text: intents[t.intent].opener.pick(g, t.person.lang), flags: flagIntent}
	var d defect
	var raw []byte
	switch name {
	case DefectEmpty:
		raw = [][]byte{{}, []byte(" "), []byte("\n")}[r.IntN(3)]
	case DefectNotJSON:
		switch r.IntN(3) {
		case 0:
			full := g.render(nil, t, &s, &d)
			raw = full[:len(full)/2]
		case 1:
			raw = []byte("<html><body><h1>502 Bad Gateway</h1></body></html>")
		default:
			raw = []byte("ERROR upstream timeout while reading webhook body")
		}
	case DefectInvalidUTF8:
		d.rawText = []string{"N\xe3o recebi o pedido", "Cobran\xe7a indevida na fatura", "Pe\xe7o reembolso, por favor"}[r.IntN(3)]
	case DefectNotObject:
		if r.IntN(2) == 0 {
			raw = append(append([]byte{'['}, g.render(nil, t, &s, &d)...), ']')
		} else {
			raw = []byte(`"message_created"`)
		}
	case DefectWrongType:
		switch r.IntN(3) {
		case 0:
			d.timeNumber = true
		case 1:
			d.contactString = true
		default:
			d.actorString = true
		}
	case DefectMissingField:
		switch r.IntN(6) {
		case 0:
			d.omitSchema = true
		case 1:
			d.omitEventID = true
		case 2:
			d.omitContact = true
		case 3:
			d.emptyContact = true
		case 4:
			d.omitConv = true
		default:
			d.omitActor = true
		}
	case DefectUnknownType:
		d.typeName = []string{"message_deleted", "typing_on", "contact_updated", "Message"}[r.IntN(4)]
	case DefectNoOffset:
		d.timeLayout = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05.000"}[r.IntN(3)]
	case DefectBadScore:
		s = step{at: now, kind: kSurvey, actor: actorCustomer, sub: subCSAT, score: []int8{0, 6, 10}[r.IntN(3)]}
		if r.IntN(2) == 0 {
			s.sub, s.score = subNPS, []int8{11, -1, 100}[r.IntN(3)]
		}
	case DefectBadSchema:
		d.schema = []string{"cx.event/v2", "cx.event/v0", "cx.events/v1"}[r.IntN(3)]
	case DefectBadIdentifier:
		d.badPhone = []string{"n/a", "não informado", "+55 11 ramal 204"}[r.IntN(3)]
	case DefectBadChannel:
		d.channel = []string{"whatsapp_business", "fax", "carrier-pigeon"}[r.IntN(3)]
	}
	if raw == nil {
		raw = g.render(nil, t, &s, &d)
	} else {
		g.serial++ // every malformed message uses one serial, rendered or not
	}
	g.stats.malformed(name)
	return Message{
		Key:    []byte(t.person.key),
		Value:  raw,
		Time:   time.Unix(0, now),
		Defect: name,
	}
}

// conversation returns a pending conversation thread for a malformed message
// to be about, opening one when none is pending.
func (g *Generator) conversation() *thread {
	for {
		for i := 0; i < len(g.heap) && i < 16; i++ {
			if h := g.heap[i]; !h.spawn && h.convID != "" && h.person != nil {
				return h
			}
		}
		if g.live {
			g.open(g.heap[0].at)
		} else {
			g.open(g.arrival)
			g.nextArrival()
		}
	}
}
