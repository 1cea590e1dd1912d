package models

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// CostModel prices conversations (the conversations mart's cost, and the
// cost KPIs: cost_total, cost_per_resolved, bot_resolved_share,
// bot_resolved_cost_share). Without one (Config.Cost nil) every cost is
// null, never 0.
type CostModel struct {
	// Label says what the figures are, shown wherever they are: the demo's
	// model is "illustrative". Required.
	Label string
	// Channels are the bot prices per channel; the key "default" prices a
	// channel without an entry of its own.
	Channels map[string]ChannelCost
	// Teams are the agent prices per team (a conversation without a team
	// is "none"); the key "default" prices a team without an entry.
	Teams map[string]TeamCost
	// AgentHandledCap caps a conversation's agent-handled time (its first
	// agent message to its resolution). Zero means DefaultAgentHandledCap.
	AgentHandledCap time.Duration
}

// ChannelCost are a channel's bot prices.
type ChannelCost struct {
	// BotMessage is the cost of each message a bot sent; BotConversation
	// the cost of each conversation a bot took part in.
	BotMessage, BotConversation float64
}

// TeamCost are a team's agent prices.
type TeamCost struct {
	// AgentMinute is the cost of each agent-handled minute; AgentMessage
	// the cost of each message an agent wrote.
	AgentMinute, AgentMessage float64
}

// DefaultAgentHandledCap is CostModel.AgentHandledCap when zero.
const DefaultAgentHandledCap = 2 * time.Hour

// agentHandledCap is m's cap, its default filled in.
func (m *CostModel) agentHandledCap() time.Duration {
	if m.AgentHandledCap == 0 {
		return DefaultAgentHandledCap
	}
	return m.AgentHandledCap
}

// validate reports the first problem with m, naming the key and the fix.
func (m *CostModel) validate() error {
	if strings.TrimSpace(m.Label) == "" {
		return &ConfigError{Key: "models.cost.label", Problem: `is empty; say what the prices are, e.g. "illustrative" or "2026 budget", so that every cost shown says it`}
	}
	if m.AgentHandledCap < 0 {
		return &ConfigError{Key: "models.cost.agent_handled_cap", Problem: "is negative; give a duration such as 2h"}
	}
	if len(m.Channels) == 0 && len(m.Teams) == 0 {
		return &ConfigError{Key: "models.cost", Problem: "has no prices; give models.cost.channels.<channel> or models.cost.teams.<team> (or default), or remove models.cost"}
	}
	price := func(key string, v float64) error {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return &ConfigError{Key: key, Problem: "must be a finite number, zero or more"}
		}
		return nil
	}
	for ch, p := range m.Channels {
		for k, v := range map[string]float64{"bot_message": p.BotMessage, "bot_conversation": p.BotConversation} {
			if err := price("models.cost.channels."+ch+"."+k, v); err != nil {
				return err
			}
		}
	}
	for t, p := range m.Teams {
		for k, v := range map[string]float64{"agent_minute": p.AgentMinute, "agent_message": p.AgentMessage} {
			if err := price("models.cost.teams."+t+"."+k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// fingerprint is the part of Config.fingerprint that m makes; "" without one.
func (m *CostModel) fingerprint() string {
	if m == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cost.%q.%d|", m.Label, m.agentHandledCap().Microseconds())
	for _, ch := range slices.Sorted(maps.Keys(m.Channels)) {
		p := m.Channels[ch]
		fmt.Fprintf(&b, "costch.%q.%g.%g|", ch, p.BotMessage, p.BotConversation)
	}
	for _, t := range slices.Sorted(maps.Keys(m.Teams)) {
		p := m.Teams[t]
		fmt.Fprintf(&b, "costteam.%q.%g.%g|", t, p.AgentMinute, p.AgentMessage)
	}
	return b.String()
}

// writeCostConfig writes cfg_cost_model (one row with a cost model, none
// without) and cfg_cost_prices, as writeConfig does the other settings.
func writeCostConfig(ctx context.Context, conn *sql.Conn, m *CostModel) error {
	for _, q := range []string{
		"create or replace table cfg_cost_model (label varchar not null, agent_handled_cap_s double not null)",
		"create or replace table cfg_cost_prices (kind varchar not null, scope varchar not null, bot_message double not null, bot_conversation double not null, agent_minute double not null, agent_message double not null, primary key (kind, scope))",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("creating cost config tables: %w", err)
		}
	}
	if m == nil {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "insert into cfg_cost_model values (?, ?)", m.Label, m.agentHandledCap().Seconds()); err != nil {
		return fmt.Errorf("writing cfg_cost_model: %w", err)
	}
	for ch, p := range m.Channels {
		if _, err := conn.ExecContext(ctx, "insert into cfg_cost_prices values ('channel', ?, ?, ?, 0, 0)", ch, p.BotMessage, p.BotConversation); err != nil {
			return fmt.Errorf("writing cfg_cost_prices: %w", err)
		}
	}
	for t, p := range m.Teams {
		if _, err := conn.ExecContext(ctx, "insert into cfg_cost_prices values ('team', ?, 0, 0, ?, ?)", t, p.AgentMinute, p.AgentMessage); err != nil {
			return fmt.Errorf("writing cfg_cost_prices: %w", err)
		}
	}
	return nil
}

// IllustrativeCostModel is the cost model the demo ships: plausible prices
// in an unnamed unit, labelled "illustrative" wherever a cost is shown. Not
// a benchmark: an operator sets models.cost to their own.
func IllustrativeCostModel() *CostModel {
	return &CostModel{
		Label: "illustrative",
		Channels: map[string]ChannelCost{
			"default":  {BotMessage: 0.01, BotConversation: 0.05},
			"whatsapp": {BotMessage: 0.01, BotConversation: 0.08}, // a conversation fee on top
			"voice":    {BotMessage: 0.03, BotConversation: 0.20},
		},
		Teams:           map[string]TeamCost{"default": {AgentMinute: 0.50, AgentMessage: 0.02}},
		AgentHandledCap: time.Hour,
	}
}
