package models

import (
	"fmt"
	"testing"
	"time"
)

// Issue 20, items 2 and 3: handoff completeness and the cost model. Every
// expected figure below is worked out by hand from the events.

// TestHandoffCompleteness: first handoffs carrying 0 to 4 of the items
// (summary; at least one field; next action; owner with a positive SLA),
// an SLA met and one missed, a conversation without a handoff.
func TestHandoffCompleteness(t *testing.T) {
	full := func(sla int) obj {
		return obj{"to_team": "support", "summary": "s", "fields": obj{"k": "v"}, "next_action": "call back", "owner": "team lead", "sla_seconds": sla}
	}
	var events []string
	for i, c := range []struct {
		conv    string
		handoff obj
		reply   string
	}{
		{"hc-0", obj{"to_team": "support", "fields": obj{}}, ""},                       // nothing: empty fields count for none
		{"hc-1", obj{"to_team": "support", "summary": "s"}, ""},                        // summary
		{"hc-2", obj{"summary": "s", "fields": obj{"k": "v"}}, ""},                     // + fields
		{"hc-3", obj{"summary": "s", "fields": obj{"k": "v"}, "next_action": "x"}, ""}, // + next action
		{"hc-4", full(600), "2026-03-02T10:05:00Z"},                                    // all four; reply within 600 s: met
		{"hc-m", full(60), "2026-03-02T10:05:00Z"},                                     // all four; reply after 60 s: missed
		{"hc-o", obj{"next_action": "x", "owner": "team lead"}, ""},                    // an owner without an SLA: next action only
	} {
		p := obj{"phone": fmt.Sprintf("+551190000070%d", i)}
		events = append(events,
			inbound(c.conv+"-1", "2026-03-02T09:59:00Z", "whatsapp", c.conv, p),
			evJSON(c.conv+"-2", "handoff", "2026-03-02T10:00:00Z", "whatsapp", c.conv, p, bot, obj{"handoff": c.handoff}))
		if c.reply != "" {
			events = append(events, outbound(c.conv+"-3", c.reply, "whatsapp", c.conv, p, agent("support")))
		}
	}
	pn := obj{"phone": "+5511900000799"}
	events = append(events, inbound("hc-n-1", "2026-03-02T09:59:00Z", "whatsapp", "hc-n", pn),
		outbound("hc-n-2", "2026-03-02T10:00:00Z", "whatsapp", "hc-n", pn, bot))

	clock := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Now = func() time.Time { return clock }
	w := openWarehouse(t)
	var off int64
	half := len(events) / 2
	writeJSON(t, w, &off, events[:half]...)
	mustBuild(t, w, cfg, false)
	writeJSON(t, w, &off, events[half:]...)
	if st := mustBuild(t, w, cfg, false); st.Full {
		t.Errorf("second build: %+v, want incremental", st)
	}
	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
		"hc-0": {"handoff_completeness": int32(0), "handoff_has_context": false, "handoff_sla_met": nil},
		"hc-1": {"handoff_completeness": int32(1), "handoff_has_context": false},
		"hc-2": {"handoff_completeness": int32(2), "handoff_has_context": true},
		"hc-3": {"handoff_completeness": int32(3), "handoff_has_context": true, "handoff_sla_met": nil},
		"hc-4": {"handoff_completeness": int32(4), "handoff_sla_met": true},
		"hc-m": {"handoff_completeness": int32(4), "handoff_sla_met": false},
		"hc-o": {"handoff_completeness": int32(1), "handoff_sla_met": nil},
		"hc-n": {"handoff_completeness": nil, "handoff_sla_met": nil},
	})
	// 7 handoffs: items 0+1+2+3+4+4+1 = 15; complete: hc-4, hc-m; SLA
	// judged: hc-4 (met), hc-m (missed).
	checkRows(t, w.DB, "kpi_daily", "channel", map[string]row{"whatsapp": {
		"handoff_complete_rate":     2.0 / 7,
		"handoff_completeness_mean": 15.0 / 7,
		"handoff_sla_met_rate":      0.5,
	}})
	mustPassDataTests(t, w)

	rebuilt := openWarehouse(t)
	off = 0
	writeJSON(t, rebuilt, &off, events...)
	mustBuild(t, rebuilt, cfg, true)
	compareModels(t, w.DB, rebuilt.DB)
}

// costTestModel prices whatsapp's bots and the support team; sales has no
// price and there is no default, so a sales conversation has no cost.
func costTestModel() *CostModel {
	return &CostModel{
		Label:           "test prices",
		Channels:        map[string]ChannelCost{"whatsapp": {BotMessage: 0.01, BotConversation: 0.10}},
		Teams:           map[string]TeamCost{"support": {AgentMinute: 0.50, AgentMessage: 0.05}},
		AgentHandledCap: 30 * time.Minute,
	}
}

// TestConversationCost: a bot-only and an escalated conversation, one whose
// agent time is capped, one whose team has no price; and no cost model
// gives null, never 0.
func TestConversationCost(t *testing.T) {
	pb, pe, pl, px := obj{"phone": "+5511900000801"}, obj{"phone": "+5511900000802"}, obj{"phone": "+5511900000803"}, obj{"phone": "+5511900000804"}
	events := []string{
		// bot only: 2 bot messages, resolved by the bot
		inbound("cb-1", "2026-03-02T10:00:00Z", "whatsapp", "c-bot", pb),
		outbound("cb-2", "2026-03-02T10:00:05Z", "whatsapp", "c-bot", pb, bot),
		outbound("cb-3", "2026-03-02T10:01:00Z", "whatsapp", "c-bot", pb, bot),
		resolved("cb-4", "2026-03-02T10:02:00Z", "whatsapp", "c-bot", pb, bot),
		// escalated: 1 bot message, 2 agent messages, agent time 10:03 -> 10:13
		inbound("ce-1", "2026-03-02T10:00:00Z", "whatsapp", "c-esc", pe),
		outbound("ce-2", "2026-03-02T10:00:05Z", "whatsapp", "c-esc", pe, bot),
		evJSON("ce-3", "handoff", "2026-03-02T10:01:00Z", "whatsapp", "c-esc", pe, bot, obj{"handoff": obj{"to_team": "support"}}),
		outbound("ce-4", "2026-03-02T10:03:00Z", "whatsapp", "c-esc", pe, agent("support")),
		outbound("ce-5", "2026-03-02T10:10:00Z", "whatsapp", "c-esc", pe, agent("support")),
		resolved("ce-6", "2026-03-02T10:13:00Z", "whatsapp", "c-esc", pe, agent("support")),
		// no bot; agent time 10:01 -> 11:01, capped at 30 minutes
		inbound("cl-1", "2026-03-02T10:00:00Z", "whatsapp", "c-long", pl),
		outbound("cl-2", "2026-03-02T10:01:00Z", "whatsapp", "c-long", pl, agent("support")),
		resolved("cl-3", "2026-03-02T11:01:00Z", "whatsapp", "c-long", pl, agent("support")),
		// sales has no price
		inbound("cx-1", "2026-03-02T10:00:00Z", "whatsapp", "c-sales", px),
		outbound("cx-2", "2026-03-02T10:01:00Z", "whatsapp", "c-sales", px, agent("sales")),
		resolved("cx-3", "2026-03-02T10:02:00Z", "whatsapp", "c-sales", px, agent("sales")),
	}
	clock := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	cfg := testConfig()
	cfg.Now = func() time.Time { return clock }
	cfg.Cost = costTestModel()
	w := openWarehouse(t)
	var off int64
	writeJSON(t, w, &off, events[:6]...)
	mustBuild(t, w, cfg, false)
	writeJSON(t, w, &off, events[6:]...)
	if st := mustBuild(t, w, cfg, false); st.Full {
		t.Errorf("second build: %+v, want incremental", st)
	}
	const (
		bot = 2*0.01 + 0.10                    // c-bot: 0.12
		esc = 1*0.01 + 0.10 + 2*0.05 + 10*0.50 // c-esc: 5.21
		lng = 1*0.05 + 30*0.50                 // c-long: 15.05
		hum = esc + lng                        // 20.26
		all = bot + hum                        // 20.38
	)
	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{
		"c-bot":   {"cost": bot},
		"c-esc":   {"cost": esc},
		"c-long":  {"cost": lng},
		"c-sales": {"cost": nil},
	})
	checkRows(t, w.DB, "kpi_daily", "channel", map[string]row{"whatsapp": {
		"cost_total":              all,
		"cost_per_resolved":       all / 3,
		"cost_per_resolved_bot":   bot,
		"cost_per_resolved_human": hum / 2,
		"bot_resolved_share":      1.0 / 3,
		"bot_resolved_cost_share": bot / all,
	}})
	checkRows(t, w.DB, "kpi_daily_team", "team", map[string]row{
		"none":    {"cost_total": bot, "cost_per_resolved": bot, "bot_resolved_share": 1.0, "bot_resolved_cost_share": 1.0, "cost_per_resolved_human": nil},
		"support": {"cost_total": hum, "cost_per_resolved": hum / 2, "bot_resolved_share": 0.0, "cost_per_resolved_bot": nil},
		"sales":   {"cost_total": nil, "cost_per_resolved": nil, "bot_resolved_share": nil, "bot_resolved_cost_share": nil},
	})
	checkRows(t, w.DB, "cost_model", "cost_label", map[string]row{"test prices": {"agent_handled_cap_s": 1800.0}})
	mustPassDataTests(t, w)

	rebuilt := openWarehouse(t)
	off = 0
	writeJSON(t, rebuilt, &off, events...)
	mustBuild(t, rebuilt, cfg, true)
	compareModels(t, w.DB, rebuilt.DB)

	// No cost model: every cost is null, not 0, and the next refresh
	// rebuilds (the model is part of the fingerprint).
	cfg.Cost = nil
	if st := mustBuild(t, w, cfg, false); !st.Full {
		t.Errorf("refresh after removing the cost model: %+v, want a full rebuild", st)
	}
	checkRows(t, w.DB, "conversations", "conversation_id", map[string]row{"c-bot": {"cost": nil}, "c-esc": {"cost": nil}})
	checkRows(t, w.DB, "kpi_daily", "channel", map[string]row{"whatsapp": {
		"cost_total": nil, "cost_per_resolved": nil, "bot_resolved_share": nil, "bot_resolved_cost_share": nil,
	}})
	var n int
	if err := w.DB.QueryRow("select count(*) from cost_model").Scan(&n); err != nil || n != 0 {
		t.Errorf("cost_model without a cost model: %d rows (%v), want 0", n, err)
	}
}

// TestCostModelValidate: a cost model must say what its prices are, and
// prices are finite and never negative.
func TestCostModelValidate(t *testing.T) {
	for _, c := range []struct {
		m   CostModel
		key string
	}{
		{CostModel{Channels: map[string]ChannelCost{"default": {BotMessage: 1}}}, "models.cost.label"},
		{CostModel{Label: "x"}, "models.cost"},
		{CostModel{Label: "x", Teams: map[string]TeamCost{"support": {AgentMinute: -1}}}, "models.cost.teams.support.agent_minute"},
		{CostModel{Label: "x", Teams: map[string]TeamCost{"default": {}}, AgentHandledCap: -time.Minute}, "models.cost.agent_handled_cap"},
	} {
		cfg := testConfig()
		cfg.Cost = &c.m
		err := cfg.Validate()
		ce, ok := err.(*ConfigError)
		if !ok || ce.Key != c.key {
			t.Errorf("Validate(%+v) = %v, want a ConfigError for %s", c.m, err, c.key)
		}
	}
}
