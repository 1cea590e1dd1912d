package models

import (
	"encoding/json"
)

// The golden data set: hand-written canonical events for people A to V,
// each a scenario of docs/models.md. Times are UTC unless an offset is
// written; expected values in golden_test.go are worked out by hand from
// these times.

type obj = map[string]any

func evJSON(id, typ, at, channel, conv string, contact obj, actor obj, extra obj) string {
	e := obj{"schema": "cx.event/v1", "event_id": id, "type": typ, "occurred_at": at, "source": "golden", "contact": contact}
	if channel != "" {
		e["channel"] = channel
	}
	if conv != "" {
		e["conversation_id"] = conv
	}
	if actor != nil {
		e["actor"] = actor
	}
	for k, v := range extra {
		e[k] = v
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var (
	customer = obj{"kind": "customer"}
	bot      = obj{"kind": "bot", "id": "bot-1"}
	system   = obj{"kind": "system", "id": "auto"}
)

func agent(team string) obj { return obj{"kind": "agent", "id": "ag-" + team, "team": team} }

func opened(id, at, ch, conv string, c obj) string {
	return evJSON(id, "conversation_opened", at, ch, conv, c, nil, nil)
}

func inbound(id, at, ch, conv string, c obj) string {
	return evJSON(id, "message", at, ch, conv, c, customer, obj{"message": obj{"direction": "inbound", "text": "help"}})
}

func outbound(id, at, ch, conv string, c obj, actor obj) string {
	return evJSON(id, "message", at, ch, conv, c, actor, obj{"message": obj{"direction": "outbound", "text": "reply"}})
}

func note(id, at, ch, conv string, c obj, actor obj) string {
	return evJSON(id, "message", at, ch, conv, c, actor, obj{"message": obj{"direction": "outbound", "text": "internal", "private": true}})
}

func resolved(id, at, ch, conv string, c obj, actor obj) string {
	return evJSON(id, "resolved", at, ch, conv, c, actor, nil)
}

func survey(id, at, ch, conv string, c obj, kind string, score int) string {
	return evJSON(id, "survey", at, ch, conv, c, customer, obj{"survey": obj{"kind": kind, "score": score}})
}

var (
	personA    = obj{"phone": "+5511900000001"}
	personAJID = obj{"phone": "5511900000001@s.whatsapp.net"} // the same phone, as a WhatsApp JID
	personB    = obj{"phone": "+5511900000002"}
	personC    = obj{"ids": obj{"instagram": "carol.ig"}}
	personD    = obj{"email": " Dave@Example.COM"} // normalized to dave@example.com
	personE    = obj{"email": "erin@example.com"}
	personS    = obj{"phone": "+5511900000006"}
	personF    = obj{"phone": "+5511900000007", "email": "fiona@example.com"}
	personFEm  = obj{"email": "fiona@example.com"}
	personG    = obj{"phone": "+5511900000009", "ids": obj{"telegram": "gabe_tg"}}
	personGWa  = obj{"phone": "+5511900000009"}
	personHEm  = obj{"email": "hana@example.com"}
	personHWc  = obj{"ids": obj{"webchat": "v-123"}}
	personJ    = obj{"phone": "+5511900000013"}
	personV    = obj{"phone": "+5511900000014"}
	personW    = obj{"phone": "+5511900000015"}
	personX    = obj{"email": "xavier@example.com"}
)

// goldenBatches are written in this order; batch 2 and 3 arrive late (see
// the scenarios in golden_test.go).
func goldenBatches() [][]string {
	a5 := resolved("a5", "2026-11-02T10:01:30Z", "whatsapp", "wa-1", personA, bot)
	a6 := survey("a6", "2026-11-02T10:05:00Z", "whatsapp", "wa-1", personA, "csat", 4)
	batch1 := []string{
		// A, wa-1: bot-only resolution; a5 delivered twice in the batch.
		opened("a1", "2026-11-02T10:00:00Z", "whatsapp", "wa-1", personAJID),
		inbound("a2", "2026-11-02T10:00:01Z", "whatsapp", "wa-1", personA),
		outbound("a3", "2026-11-02T10:00:03Z", "whatsapp", "wa-1", personA, bot),
		outbound("a4", "2026-11-02T10:01:00Z", "whatsapp", "wa-1", personA, bot),
		a5, a5,
		a6,
		// A standalone NPS 7 (passive) on whatsapp.
		survey("a7", "2026-11-02T15:00:00Z", "whatsapp", "", personA, "nps", 7),

		// B, wa-2: bot then human, handoff with context; a private note must not count as a response.
		opened("b1", "2026-11-02T11:00:00Z", "whatsapp", "wa-2", personB),
		inbound("b2", "2026-11-02T11:00:02Z", "whatsapp", "wa-2", personB),
		outbound("b3", "2026-11-02T11:00:12Z", "whatsapp", "wa-2", personB, bot),
		inbound("b4", "2026-11-02T11:00:30Z", "whatsapp", "wa-2", personB),
		outbound("b5", "2026-11-02T11:00:32Z", "whatsapp", "wa-2", personB, bot),
		evJSON("b6", "handoff", "2026-11-02T11:00:33Z", "whatsapp", "wa-2", personB, bot, obj{"handoff": obj{
			"reason": "billing", "to_team": "billing", "summary": "Customer disputes invoice 77", "fields": obj{"invoice": "77"}}}),
		note("b7", "2026-11-02T11:01:00Z", "whatsapp", "wa-2", personB, agent("billing")),
		evJSON("b8", "assigned", "2026-11-02T11:02:33Z", "whatsapp", "wa-2", personB, agent("billing"), nil),
		outbound("b9", "2026-11-02T11:03:33Z", "whatsapp", "wa-2", personB, agent("billing")),
		outbound("b10", "2026-11-02T11:05:00Z", "whatsapp", "wa-2", personB, agent("billing")),
		resolved("b11", "2026-11-02T11:06:40Z", "whatsapp", "wa-2", personB, agent("billing")),
		survey("b12", "2026-11-02T11:10:00Z", "whatsapp", "wa-2", personB, "csat", 3),

		// C, ig-3: handoff without context (empty summary, empty fields).
		opened("c1", "2026-11-03T12:00:00Z", "instagram", "ig-3", personC),
		inbound("c2", "2026-11-03T12:00:01Z", "instagram", "ig-3", personC),
		outbound("c3", "2026-11-03T12:00:05Z", "instagram", "ig-3", personC, bot),
		evJSON("c4", "handoff", "2026-11-03T12:00:06Z", "instagram", "ig-3", personC, bot, obj{"handoff": obj{
			"reason": "other", "to_team": "support", "summary": "", "fields": obj{}}}),
		outbound("c5", "2026-11-03T12:10:06Z", "instagram", "ig-3", personC, agent("support")),
		resolved("c6", "2026-11-03T12:11:40Z", "instagram", "ig-3", personC, agent("support")),

		// D, em-4: email answered the next morning, in São Paulo time (-03:00).
		opened("d1", "2026-11-03T19:59:59-03:00", "email", "em-4", personD),
		inbound("d2", "2026-11-03T20:00:00-03:00", "email", "em-4", personD),
		outbound("d3", "2026-11-04T10:30:00-03:00", "email", "em-4", personD, agent("support")),
		resolved("d4", "2026-11-04T11:00:00-03:00", "email", "em-4", personD, agent("support")),
		survey("d5", "2026-11-04T12:00:00-03:00", "email", "em-4", personD, "nps", 9),

		// E, em-5: email on Friday evening answered on Monday; only the
		// opening is here, the rest arrives late (batches 2 and 3).
		opened("e1", "2026-11-06T16:59:00-03:00", "email", "em-5", personE),

		// S, sms-6: resolved, reopened, resolved again.
		opened("s1", "2026-11-04T09:00:00Z", "sms", "sms-6", personS),
		inbound("s2", "2026-11-04T09:00:10Z", "sms", "sms-6", personS),
		outbound("s3", "2026-11-04T09:01:10Z", "sms", "sms-6", personS, agent("support")),
		resolved("s4", "2026-11-04T09:01:40Z", "sms", "sms-6", personS, agent("support")),
		evJSON("s5", "reopened", "2026-11-04T10:00:00Z", "sms", "sms-6", personS, customer, nil),
		inbound("s6", "2026-11-04T10:00:10Z", "sms", "sms-6", personS),
		outbound("s7", "2026-11-04T10:01:40Z", "sms", "sms-6", personS, agent("support")),
		resolved("s8", "2026-11-04T10:03:20Z", "sms", "sms-6", personS, agent("support")),
		survey("s9", "2026-11-04T10:10:00Z", "sms", "sms-6", personS, "nps", 6),

		// F: whatsapp, then email two days later (inside the FCR window).
		opened("f1", "2026-11-05T10:00:00Z", "whatsapp", "wa-7", personF),
		inbound("f2", "2026-11-05T10:00:05Z", "whatsapp", "wa-7", personF),
		outbound("f3", "2026-11-05T10:01:05Z", "whatsapp", "wa-7", personF, agent("support")),
		resolved("f4", "2026-11-05T10:02:00Z", "whatsapp", "wa-7", personF, agent("support")),
		opened("g1", "2026-11-07T10:00:00Z", "email", "em-8", personFEm),
		inbound("g2", "2026-11-07T10:00:00Z", "email", "em-8", personFEm),
		outbound("g3", "2026-11-07T11:00:00Z", "email", "em-8", personFEm, agent("support")),
		resolved("g4", "2026-11-07T12:00:00Z", "email", "em-8", personFEm, agent("support")),

		// G: telegram, then whatsapp eight days later (outside the window).
		opened("h1", "2026-11-02T08:00:00Z", "telegram", "tg-9", personG),
		inbound("h2", "2026-11-02T08:00:01Z", "telegram", "tg-9", personG),
		outbound("h3", "2026-11-02T08:00:03Z", "telegram", "tg-9", personG, bot),
		resolved("h4", "2026-11-02T08:00:30Z", "telegram", "tg-9", personG, bot),
		opened("i1", "2026-11-10T09:00:00Z", "whatsapp", "wa-10", personGWa),
		inbound("i2", "2026-11-10T09:00:01Z", "whatsapp", "wa-10", personGWa),
		outbound("i3", "2026-11-10T09:01:01Z", "whatsapp", "wa-10", personGWa, agent("sales")),
		resolved("i4", "2026-11-10T09:05:00Z", "whatsapp", "wa-10", personGWa, agent("sales")),

		// H: email on Sunday, then a webchat visitor five days later, linked
		// to the email only in batch 3.
		opened("j1", "2026-11-01T09:59:00Z", "email", "em-12", personHEm),
		inbound("j2", "2026-11-01T10:00:00Z", "email", "em-12", personHEm),
		outbound("j3", "2026-11-01T12:00:00Z", "email", "em-12", personHEm, agent("support")),
		resolved("j4", "2026-11-01T13:00:00Z", "email", "em-12", personHEm, agent("support")),
		opened("k1", "2026-11-06T14:00:00Z", "webchat", "wc-11", personHWc),
		inbound("k2", "2026-11-06T14:00:02Z", "webchat", "wc-11", personHWc),
		outbound("k3", "2026-11-06T14:00:04Z", "webchat", "wc-11", personHWc, bot),
		resolved("k4", "2026-11-06T14:00:10Z", "webchat", "wc-11", personHWc, system),

		// J, wa-13: resolved two days before the latest event: window open.
		opened("m1", "2026-11-18T10:00:00Z", "whatsapp", "wa-13", personJ),
		inbound("m2", "2026-11-18T10:00:01Z", "whatsapp", "wa-13", personJ),
		outbound("m3", "2026-11-18T10:00:04Z", "whatsapp", "wa-13", personJ, bot),
		resolved("m4", "2026-11-18T10:05:00Z", "whatsapp", "wa-13", personJ, bot),
		// J's standalone NPS 8 without a channel: the latest event of all.
		survey("m5", "2026-11-20T12:00:00Z", "", "", personJ, "nps", 8),

		// V, vo-14: a voice call nobody answered.
		opened("n1", "2026-11-19T10:00:00Z", "voice", "vo-14", personV),
		inbound("n2", "2026-11-19T10:00:00Z", "voice", "vo-14", personV),

		// W, wa-15: a bot conversation in which an agent only left a private
		// note: no escalation, no agent response, and the bot still contains it.
		opened("w1", "2026-11-11T10:00:00Z", "whatsapp", "wa-15", personW),
		inbound("w2", "2026-11-11T10:00:01Z", "whatsapp", "wa-15", personW),
		outbound("w3", "2026-11-11T10:00:04Z", "whatsapp", "wa-15", personW, bot),
		note("w4", "2026-11-11T10:00:30Z", "whatsapp", "wa-15", personW, agent("support")),
		resolved("w5", "2026-11-11T10:01:00Z", "whatsapp", "wa-15", personW, bot),

		// X, em-16: email on Friday 17:00 in São Paulo answered on Tuesday
		// 10:00, over a recurring holiday (Monday 11-16) and a holiday of
		// 2026 (Tuesday 11-17); a holiday of 2025 on 11-13 closes nothing.
		opened("x1", "2026-11-13T17:00:00-03:00", "email", "em-16", personX),
		inbound("x2", "2026-11-13T17:00:00-03:00", "email", "em-16", personX),
		outbound("x3", "2026-11-17T10:00:00-03:00", "email", "em-16", personX, agent("support")),
		resolved("x4", "2026-11-17T10:30:00-03:00", "email", "em-16", personX, agent("support")),
	}
	batch2 := []string{
		// E's answer (Monday 10:00 in São Paulo, written in +09:00) and
		// resolution arrive before E's inbound message.
		outbound("e3", "2026-11-09T22:00:00+09:00", "email", "em-5", personE, agent("support")),
		resolved("e4", "2026-11-09T13:30:00Z", "email", "em-5", personE, agent("support")),
	}
	batch3 := []string{
		inbound("e2", "2026-11-06T17:00:00-03:00", "email", "em-5", personE),
		// The webchat visitor logs in with H's email.
		evJSON("l1", "identity_link", "2026-11-06T14:05:00Z", "webchat", "", personHWc, customer, obj{"link": personHEm}),
		// a6 redelivered: still one answer.
		a6,
	}
	return [][]string{batch1, batch2, batch3}
}
