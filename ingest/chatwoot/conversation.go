package chatwoot

import (
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
		assignee, assigneeChanged := currentID(c, "assignee_id")
		teamID, teamChanged := currentID(c, "team_id")
		switch {
		case assignee == "" && teamID == "" && (assigneeChanged || teamChanged):
			return nil, reasons.Skip(ev, "the assignee or team was removed; an unassignment is not a timeline event")
		case assignee == "" && teamID == "":
			if keys := c.changedKeys(); len(keys) > 0 {
				return nil, reasons.Skip(ev, "changed %s, not the assignee or the team", describeKeys(keys))
			}
			return nil, reasons.Skip(ev, "no changed_attributes: nothing says what changed")
		}
		if !assigneeChanged && c.Meta.Assignee != nil {
			assignee = string(c.Meta.Assignee.ID) // the team changed; the assignee stays
		}
		if e.OccurredAt, err = occurred(ev, kafkaTime, c.UpdatedAt.Time, c.Timestamp.Time); err != nil {
			return nil, err
		}
		e.Type = event.TypeAssigned
		e.EventID = conversationID(c) + ":assigned:" + stampID(e.OccurredAt)
		// meta.team is the team now in charge.
		e.Actor = event.Actor{Kind: "agent", ID: assignee, Team: team}
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
		if a := c.Meta.Assignee; a != nil && a.ID != "" {
			e.Actor = event.Actor{Kind: "agent", ID: string(a.ID), Team: team}
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
