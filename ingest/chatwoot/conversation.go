package chatwoot

import (
	"cmp"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cxlake/cxlake/event"
	"github.com/cxlake/cxlake/ingest"
)

// conversation decodes the conversation events.
//
//   - conversation_created: conversation_opened, when it was created.
//   - conversation_status_changed (and its older names conversation_opened,
//     conversation_resolved): resolved -> resolved; open after pending -> a
//     handoff, the bot handing the conversation to a human (Chatwoot keeps
//     a conversation pending while a bot handles it); open after resolved ->
//     reopened. The previous status comes from changed_attributes; open
//     after snoozed, pending and snoozed are skipped.
//   - conversation_updated: a change of assignee_id or team_id -> assigned,
//     with the agent and team now in charge; other changes are skipped.
func (d *Decoder) conversation(ev string, c *conversation, kafkaTime time.Time) ([]event.Event, error) {
	e, err := d.base(ev, "", c, nil)
	if err != nil {
		return nil, err
	}
	x := extra{Event: ev, InboxID: string(c.InboxID), Status: c.Status}
	e.Extra = x.raw()
	team := ""
	if t := c.Meta.Team; t != nil {
		team = t.Name
	}
	switch ev {
	case "conversation_created":
		if e.OccurredAt, err = occurred(ev, kafkaTime, c.CreatedAt.Time, c.Timestamp.Time); err != nil {
			return nil, err
		}
		e.Type = event.TypeConversationOpened
		e.EventID = conversationID(c) + ":opened"
		return []event.Event{e}, nil

	case "conversation_updated":
		// A conversation is assigned to a user (assignee_id) or to an agent
		// bot (assignee_agent_bot_id); assigning a user clears the bot
		// (Conversation#reset_agent_bot_when_assignee_present), so both
		// change together then.
		user, userChanged := currentID(c, "assignee_id")
		bot, botChanged := currentID(c, "assignee_agent_bot_id")
		teamID, teamChanged := currentID(c, "team_id")
		switch {
		case user == "" && bot == "" && teamID == "" && (userChanged || botChanged || teamChanged):
			return nil, reasons.Skip(ev, "the assignee or team was removed; an unassignment is not a timeline event")
		case user == "" && bot == "" && teamID == "":
			if keys := c.changedKeys(); len(keys) > 0 {
				return nil, reasons.Skip(ev, "changed %s, not the assignee or the team", describeKeys(keys))
			}
			return nil, reasons.Skip(ev, "no changed_attributes: nothing says what changed")
		}
		if e.OccurredAt, err = occurred(ev, kafkaTime, c.UpdatedAt.Time, c.Timestamp.Time); err != nil {
			return nil, err
		}
		e.Type = event.TypeAssigned
		e.EventID = conversationID(c) + ":assigned:" + stampID(e.OccurredAt)
		// meta.team is the team now in charge.
		switch {
		case user != "":
			e.Actor = event.Actor{Kind: "agent", ID: user, Team: team}
		case bot != "":
			e.Actor = event.Actor{Kind: "bot", ID: botID("agent_bot", bot)}
		default: // the team changed; the assignee stays
			e.Actor, _ = assigneeActor(c, team)
			e.Actor.Kind = cmp.Or(e.Actor.Kind, "agent")
			e.Actor.Team = team
		}
		return []event.Event{e}, nil
	}

	// A status change.
	status := c.Status
	if ev == "conversation_opened" {
		status = "open"
	} else if ev == "conversation_resolved" {
		status = "resolved"
	}
	previous := ""
	if ch, ok := c.changed("status"); ok {
		_ = json.Unmarshal(ch.Previous, &previous)
		var current string
		if json.Unmarshal(ch.Current, &current) == nil && current != "" {
			status = current
		}
	}
	if e.OccurredAt, err = occurred(ev, kafkaTime, c.UpdatedAt.Time, c.Timestamp.Time); err != nil {
		return nil, err
	}
	switch {
	case status == "resolved":
		e.Type = event.TypeResolved
		e.Actor = event.Actor{Kind: "system"}
		if a, ok := assigneeActor(c, team); ok {
			e.Actor = a
		}
	case status == "open" && previous == "pending":
		e.Type = event.TypeHandoff
		e.Handoff = &event.Handoff{Reason: "bot_handoff", ToTeam: team}
	case status == "open" && previous == "resolved":
		e.Type = event.TypeReopened
	case status == "open" && previous == "":
		return nil, reasons.Skip(ev, "status open without the previous status (changed_attributes); a reopen cannot be told from a handoff")
	case status == "open":
		return nil, reasons.Skip(ev, "status open after %s is not a timeline event", ingest.QuoteName(previous))
	case status == "pending", status == "snoozed":
		return nil, reasons.Skip(ev, "status %s is not a timeline event", ingest.QuoteName(status))
	case status == "":
		return nil, reasons.Missing(ev, "status")
	default:
		return nil, reasons.Reject(event.CodeInvalidValue, ev, "status", "status %s is not open, pending, resolved or snoozed", ingest.QuoteName(status))
	}
	e.EventID = conversationID(c) + ":" + e.Type + ":" + stampID(e.OccurredAt)
	return []event.Event{e}, nil
}

// assigneeActor is the actor of meta.assignee, Conversation#assigned_entity:
// an agent bot (meta.assignee_type "AgentBot", or the assignee's type
// "agent_bot", AgentBot#push_event_data) is a bot, a user an agent. ok is
// false when the conversation has no assignee.
func assigneeActor(c *conversation, team string) (a event.Actor, ok bool) {
	p := c.Meta.Assignee
	if p == nil || p.ID == "" {
		return event.Actor{}, false
	}
	if c.Meta.AssigneeType == "AgentBot" || p.Type == "agent_bot" {
		return event.Actor{Kind: "bot", ID: botID("agent_bot", string(p.ID))}, true
	}
	return event.Actor{Kind: "agent", ID: string(p.ID), Team: team}, true
}

// botID is a bot's actor.id: its Chatwoot type and id, because agent bots,
// Captain assistants and users are numbered apart (agent bot 7 is not
// user 7).
func botID(kind, id string) string { return kind + ":" + id }

// currentID returns the new value of a changed id attribute ("" when it
// was cleared) and whether it changed.
func currentID(c *conversation, key string) (string, bool) {
	ch, ok := c.changed(key)
	if !ok {
		return "", false
	}
	var r ref
	if json.Unmarshal(ch.Current, &r) != nil {
		return "", true
	}
	return string(r), true
}

func stampID(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) }

// describeKeys lists changed attribute names for a reason: Chatwoot's
// column names, quoted when they look like one.
func describeKeys(keys []string) string {
	slices.Sort(keys)
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = ingest.QuoteName(k)
	}
	return strings.Join(q, ", ")
}
