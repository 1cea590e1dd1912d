package config

import (
	"time"

	"github.com/cxlake/cxlake/models"
)

// costFile is models.cost, the cost model (models.CostModel): prices per
// channel and per team, in any unit, with a label saying what they are.
type costFile struct {
	Label           string `yaml:"label"`             // "illustrative", "2026 budget"
	AgentHandledCap string `yaml:"agent_handled_cap"` // default 2h
	Channels        map[string]struct {
		BotMessage      float64 `yaml:"bot_message"`
		BotConversation float64 `yaml:"bot_conversation"`
	} `yaml:"channels"` // <channel> or default
	Teams map[string]struct {
		AgentMinute  float64 `yaml:"agent_minute"`
		AgentMessage float64 `yaml:"agent_message"`
	} `yaml:"teams"` // <team>, none or default
}

// model converts f; models.Config.Validate checks what it holds.
func (f *costFile) model() (*models.CostModel, error) {
	m := &models.CostModel{Label: f.Label, Channels: map[string]models.ChannelCost{}, Teams: map[string]models.TeamCost{}}
	var d time.Duration
	if err := duration("models.cost.agent_handled_cap", f.AgentHandledCap, &d); err != nil {
		return nil, err
	}
	m.AgentHandledCap = d
	for ch, p := range f.Channels {
		m.Channels[ch] = models.ChannelCost{BotMessage: p.BotMessage, BotConversation: p.BotConversation}
	}
	for t, p := range f.Teams {
		m.Teams[t] = models.TeamCost{AgentMinute: p.AgentMinute, AgentMessage: p.AgentMessage}
	}
	return m, nil
}
