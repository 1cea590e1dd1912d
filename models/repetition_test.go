package models

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cxlake/cxlake/privacy"
	"github.com/cxlake/cxlake/warehouse"
)

// Repetition (issue 20, docs/models.md "Repetition"), worked by hand from
// the tokenizer's definition (lower-case, accents folded, split on
// anything not a letter or digit; kept: 3+ characters with a digit, e-mails
// and phones whole, 4+ letters not a stop word):
//
//   - rp-a (whatsapp): before the handoff "Meu pedido 48213 não chegou, já
//     faz uma semana" {pedido, 48213, chegou, semana}; after it "O pedido
//     48213 ainda não chegou" {pedido, 48213, chegou}: 3 shared, true.
//   - rp-b: before "Quero trocar o produto com defeito" {trocar, produto,
//     defeito}; after only "ok obrigado" {}: 0 shared, false.
//   - rp-c: no handoff: null.
//   - rp-d: a handoff, and no inbound message after it: null.
//   - rp-e: as rp-a, but the person withdrew analytics: their texts are
//     not read, so false, and the conversation stays in the denominator.
//   - sw-1 (whatsapp, resolved): "Minha fatura 7781 veio com cobrança
//     duplicada" {fatura, 7781, veio, cobranca, duplicada}. The same person
//     opens sw-2 on email within the FCR window: "Bom dia" {}, "a fatura 7781
//     continua duplicada" {fatura, 7781, continua, duplicada}, "segue" {}:
//     3 shared in its first 3 inbound messages: sw-1 repeated_after_switch
//     true.
//   - sw-3 (whatsapp, resolved): "Quero cancelar minha assinatura 5521"
//     {cancelar, assinatura, 5521}; sw-4 on webchat: "Boa tarde",
//     "obrigado", "ok" {}, then, 4th, "cancelar assinatura 5521": the first
//     3 share nothing: false.
//   - sw-2, sw-4 and every rp- conversation have no cross-channel
//     recontact: repeated_after_switch null.
//
// kpi_daily, whatsapp, 2026-03-02: repeat_after_handoff_rate = 1 true (rp-a)
// of 3 known (rp-a, rp-b, rp-e); repeat_after_switch_rate = 1 (sw-1) of 2
// (sw-1, sw-3).
func repetitionEvents() []string {
	p := func(n int) obj { return obj{"phone": fmt.Sprintf("+55119000070%02d", n)} }
	say := func(id, at, ch, conv string, c obj, text string) string {
		return evJSON(id, "message", at, ch, conv, c, customer, obj{"message": obj{"direction": "inbound", "text": text}})
	}
	handoff := func(id, at, conv string, c obj) string {
		return evJSON(id, "handoff", at, "whatsapp", conv, c, bot, obj{"handoff": obj{"to_team": "support"}})
	}
	sup := agent("support")
	return []string{
		say("rp-a-1", "2026-03-02T10:00:00Z", "whatsapp", "rp-a", p(1), "Meu pedido 48213 não chegou, já faz uma semana"),
		handoff("rp-a-2", "2026-03-02T10:01:00Z", "rp-a", p(1)),
		say("rp-a-3", "2026-03-02T10:05:00Z", "whatsapp", "rp-a", p(1), "O pedido 48213 ainda não chegou"),

		say("rp-b-1", "2026-03-02T10:00:00Z", "whatsapp", "rp-b", p(2), "Quero trocar o produto com defeito"),
		handoff("rp-b-2", "2026-03-02T10:01:00Z", "rp-b", p(2)),
		say("rp-b-3", "2026-03-02T10:05:00Z", "whatsapp", "rp-b", p(2), "ok obrigado"),

		say("rp-c-1", "2026-03-02T10:00:00Z", "whatsapp", "rp-c", p(3), "Meu pedido 48213 não chegou"),
		outbound("rp-c-2", "2026-03-02T10:01:00Z", "whatsapp", "rp-c", p(3), sup),
		say("rp-c-3", "2026-03-02T10:05:00Z", "whatsapp", "rp-c", p(3), "O pedido 48213 ainda não chegou"),

		say("rp-d-1", "2026-03-02T10:00:00Z", "whatsapp", "rp-d", p(4), "Meu pedido 48213 não chegou"),
		handoff("rp-d-2", "2026-03-02T10:01:00Z", "rp-d", p(4)),
		outbound("rp-d-3", "2026-03-02T10:02:00Z", "whatsapp", "rp-d", p(4), sup),

		say("rp-e-1", "2026-03-02T10:00:00Z", "whatsapp", "rp-e", p(5), "Meu pedido 48213 não chegou, já faz uma semana"),
		handoff("rp-e-2", "2026-03-02T10:01:00Z", "rp-e", p(5)),
		say("rp-e-3", "2026-03-02T10:05:00Z", "whatsapp", "rp-e", p(5), "O pedido 48213 ainda não chegou"),

		say("sw-1-1", "2026-03-02T11:00:00Z", "whatsapp", "sw-1", p(6), "Minha fatura 7781 veio com cobrança duplicada"),
		outbound("sw-1-2", "2026-03-02T11:01:00Z", "whatsapp", "sw-1", p(6), sup),
		resolved("sw-1-3", "2026-03-02T11:10:00Z", "whatsapp", "sw-1", p(6), sup),
		say("sw-2-1", "2026-03-03T09:00:00Z", "email", "sw-2", p(6), "Bom dia"),
		say("sw-2-2", "2026-03-03T09:01:00Z", "email", "sw-2", p(6), "a fatura 7781 continua duplicada"),
		say("sw-2-3", "2026-03-03T09:02:00Z", "email", "sw-2", p(6), "segue"),

		say("sw-3-1", "2026-03-02T11:00:00Z", "whatsapp", "sw-3", p(7), "Quero cancelar minha assinatura 5521"),
		outbound("sw-3-2", "2026-03-02T11:01:00Z", "whatsapp", "sw-3", p(7), sup),
		resolved("sw-3-3", "2026-03-02T11:10:00Z", "whatsapp", "sw-3", p(7), sup),
		say("sw-4-1", "2026-03-03T09:00:00Z", "webchat", "sw-4", p(7), "Boa tarde"),
		say("sw-4-2", "2026-03-03T09:01:00Z", "webchat", "sw-4", p(7), "obrigado"),
		say("sw-4-3", "2026-03-03T09:02:00Z", "webchat", "sw-4", p(7), "ok"),
		say("sw-4-4", "2026-03-03T09:03:00Z", "webchat", "sw-4", p(7), "cancelar assinatura 5521"),
	}
}

func TestRepetition(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig()
	clock := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC) // every FCR window closed
	cfg.Now = func() time.Time { return clock }
	events := repetitionEvents()
	// rp-e's person withdrew analytics: the rule consent enforcement adds.
	rpe := privacy.NewHasher(testKey).Identifier(privacy.KindPhone, "+5511900007005")
	build := func(full bool) (*warehouse.Warehouse, Stats) {
		w := openWarehouse(t)
		if _, err := w.DB.ExecContext(ctx, `insert into identifier_rules (identifier_hash, rule, reason, added_at)
			values (?, 'pseudonymize', 'consent_withdrawn', ?)`, rpe, clock); err != nil {
			t.Fatal(err)
		}
		var off int64
		if full {
			writeJSON(t, w, &off, events...)
			return w, mustBuild(t, w, cfg, true)
		}
		// Incrementally: the first half, a build, then the rest.
		writeJSON(t, w, &off, events[:12]...)
		mustBuild(t, w, cfg, false)
		writeJSON(t, w, &off, events[12:]...)
		return w, mustBuild(t, w, cfg, false)
	}
	inc, st := build(false)
	if st.Full {
		t.Errorf("the second build was full: %+v", st)
	}
	checkRows(t, inc.DB, "conversations", "conversation_id", map[string]row{
		"rp-a": {"repeated_after_handoff": true, "repeated_after_switch": nil},
		"rp-b": {"repeated_after_handoff": false, "repeated_after_switch": nil},
		"rp-c": {"repeated_after_handoff": nil, "repeated_after_switch": nil},
		"rp-d": {"repeated_after_handoff": nil, "repeated_after_switch": nil},
		"rp-e": {"repeated_after_handoff": false, "repeated_after_switch": nil},
		"sw-1": {"repeated_after_handoff": nil, "recontact_other_channel": true, "repeated_after_switch": true},
		"sw-2": {"repeated_after_handoff": nil, "repeated_after_switch": nil},
		"sw-3": {"repeated_after_handoff": nil, "recontact_other_channel": true, "repeated_after_switch": false},
		"sw-4": {"repeated_after_handoff": nil, "repeated_after_switch": nil},
	})
	checkRows(t, inc.DB, "kpi_daily", "channel", map[string]row{
		"whatsapp": {"repeat_after_handoff_rate": 1.0 / 3, "repeat_after_switch_rate": 0.5},
		"email":    {"repeat_after_handoff_rate": nil, "repeat_after_switch_rate": nil},
		"webchat":  {"repeat_after_handoff_rate": nil, "repeat_after_switch_rate": nil},
	})
	mustPassDataTests(t, inc)
	full, _ := build(true)
	compareModels(t, inc.DB, full.DB)
}
