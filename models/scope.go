package models

import (
	"context"
	"database/sql"
	"fmt"
)

// An incremental build recomputes scopes: temporary tables of the keys whose
// rows may have changed. The scoping steps below fill them between models:
//
//   - _scope_chats: the Evolution API (WhatsApp) chats with an event in the
//     new batches or a removed event, whose conversations
//     int_whatsapp_conversations_drawn redraws whole.
//   - _scope_conversations: conversations with an event in the new batches,
//     and the WhatsApp conversations whose events were drawn differently
//     (before and after the redraw: a late message can join, merge or
//     renumber a chat's conversations, or make a takeover).
//     (Conversations of people whose contact_key changed only move to the
//     new key; see resolveIdentities.)
//   - _scope_contacts: the people of those conversations (before and after),
//     people whose identity changed, and people with a conversation whose FCR
//     window closed or whose unanswered SLA deadline passed since the last
//     build (both are judged against the build's clock, Config.Now; a
//     Refresh with no new batch recomputes these people alone).
//     FCR and recontact look at all of a person's conversations, so whole
//     people are recomputed.
//   - _scope_days: the UTC days of the conversations whose mart row changed
//     (before and after) and of new surveys answered outside a conversation.
//
// Everything else keeps its rows: nothing outside the scopes can change.

type hook struct {
	before, after func(ctx context.Context, b *build) error
}

var hooks = map[string]hook{
	"int_whatsapp_conversations_drawn": {before: chatsInScope, after: redrawnConversations},
	"int_conversations_aggregated":     {before: oldConversationContacts, after: newContacts},
	"int_conversations_joined":         {before: keepOldConversations, after: changedDays},
}

func (b *build) initScopes(ctx context.Context) error {
	for _, q := range []string{
		"create or replace temp table _scope_conversations (conversation_id varchar)",
		"create or replace temp table _scope_chats (chat_id varchar)",
		"create or replace temp table _scope_contacts (contact_key varchar)",
		"create or replace temp table _scope_days (day date)",
		fmt.Sprintf(`insert into _scope_conversations
			select distinct conversation_id from events
			where batch_id > %d and batch_id <= %d and conversation_id is not null`, b.vars.FromBatch, b.vars.ToBatch),
	} {
		if err := b.exec(ctx, q); err != nil {
			return fmt.Errorf("creating incremental scopes: %w", err)
		}
	}
	return b.seedRemovalScopes(ctx)
}

// whatsAppChat extracts the chat of an Evolution API conversation_id as
// ingest stores it (wa:<instance>:<16 hex>, or an older ingest's
// wa:<instance>:<16 hex>:<n>); ” for any other id. The model
// int_whatsapp_conversations_drawn uses the same pattern.
const whatsAppChat = `regexp_extract(conversation_id, '^wa:[^:@+]*:[0-9a-f]{16}')`

// chatsInScope puts in _scope_chats the chats of the conversation ids in
// scope (the new batches' and the removed events'), and keeps how their
// messages were drawn, to find what the redraw changes.
func chatsInScope(ctx context.Context, b *build) error {
	for _, q := range []string{
		`insert into _scope_chats
		 select distinct chat_id from (
		     select ` + whatsAppChat + ` as chat_id from _scope_conversations
		     where conversation_id like 'wa:%')
		 where chat_id <> ''`,
		`create or replace temp table _drawn_before as
		 select event_id, conversation_id, is_takeover from int_whatsapp_conversations_drawn
		 where chat_id in (select chat_id from _scope_chats)`,
	} {
		if err := b.exec(ctx, q); err != nil {
			return fmt.Errorf("scoping WhatsApp chats: %w", err)
		}
	}
	return nil
}

// redrawnConversations adds to _scope_conversations the conversations,
// before and after the redraw, of the messages whose conversation or
// takeover changed (new messages included): only those conversations'
// rows can change.
func redrawnConversations(ctx context.Context, b *build) error {
	return b.exec(ctx, `insert into _scope_conversations
		select distinct conversation_id from (
		    (select * from _drawn_before
		     except
		     select event_id, conversation_id, is_takeover from int_whatsapp_conversations_drawn
		     where chat_id in (select chat_id from _scope_chats))
		    union all
		    (select event_id, conversation_id, is_takeover from int_whatsapp_conversations_drawn
		     where chat_id in (select chat_id from _scope_chats)
		     except
		     select * from _drawn_before)
		)`)
}

// oldConversationContacts adds the people of the conversations in scope as
// last built, and finds how far back their events can lie.
func oldConversationContacts(ctx context.Context, b *build) error {
	if err := b.exec(ctx, `insert into _scope_contacts
		select contact_key from int_conversations_aggregated
		where conversation_id in (select conversation_id from _scope_conversations)`); err != nil {
		return err
	}
	var start sql.NullTime
	if err := b.conn.QueryRowContext(ctx, `select min(opened_at) from int_conversations_aggregated
		where conversation_id in (select conversation_id from _scope_conversations)`).Scan(&start); err != nil {
		return err
	}
	b.vars.ScopeStartAt = "'infinity'::timestamptz"
	if start.Valid {
		b.vars.ScopeStartAt = timeLiteral(start)
	}
	return nil
}

// newContacts adds the people of the recomputed conversations, and those
// whose FCR window or unanswered SLA deadline passed between the previous
// build's clock and this one's.
func newContacts(ctx context.Context, b *build) error {
	if err := b.exec(ctx, `insert into _scope_contacts
		select contact_key from int_conversations_aggregated
		where conversation_id in (select conversation_id from _scope_conversations)`); err != nil {
		return err
	}
	return passedDeadlines(ctx, b)
}

// keepOldConversations keeps the conversations mart's rows of the people in
// scope as they were, to find the days whose KPIs change.
func keepOldConversations(ctx context.Context, b *build) error {
	return b.exec(ctx, `create or replace temp table _conversations_before as
		select * from conversations where contact_key in (select contact_key from _scope_contacts)`)
}

// changedDays puts in _scope_days the UTC days of the conversations whose
// row changed, appeared or disappeared, and of new surveys answered
// outside a conversation. Only those days' KPIs can change.
func changedDays(ctx context.Context, b *build) error {
	for _, q := range []string{
		`insert into _scope_days
		 select distinct (opened_at at time zone 'UTC')::date from (
		     (select * from _conversations_before
		      except
		      select * from conversations where contact_key in (select contact_key from _scope_contacts))
		     union all
		     (select * from conversations where contact_key in (select contact_key from _scope_contacts)
		      except
		      select * from _conversations_before)
		 )`,
		fmt.Sprintf(`insert into _scope_days
		 select distinct (occurred_at at time zone 'UTC')::date from events
		 where batch_id > %d and batch_id <= %d and type = 'survey' and conversation_id is null`, b.vars.FromBatch, b.vars.ToBatch),
	} {
		if err := b.exec(ctx, q); err != nil {
			return err
		}
	}
	var from, to sql.NullTime
	if err := b.conn.QueryRowContext(ctx, `select min(day)::timestamptz, (max(day) + 1)::timestamptz from _scope_days`).Scan(&from, &to); err != nil {
		return fmt.Errorf("bounding the days in scope: %w", err)
	}
	// No day in scope: an empty range.
	b.vars.ScopeDaysFrom, b.vars.ScopeDaysTo = "'infinity'::timestamptz", "'infinity'::timestamptz"
	if from.Valid {
		b.vars.ScopeDaysFrom, b.vars.ScopeDaysTo = timeLiteral(from), timeLiteral(to)
	}
	return nil
}

func passedDeadlines(ctx context.Context, b *build) error {
	q, ok := b.passedDeadlinesQuery()
	if !ok {
		return nil
	}
	return b.exec(ctx, "insert into _scope_contacts "+q)
}

// anyDeadlinePassed reports whether the clock passed an FCR window's end or
// an unanswered SLA deadline since the last build: a Refresh with no new
// batch has nothing else to do.
func (b *build) anyDeadlinePassed(ctx context.Context) (bool, error) {
	q, ok := b.passedDeadlinesQuery()
	if !ok {
		return false, nil
	}
	var n int64
	if err := b.conn.QueryRowContext(ctx, "select count(*) from ("+q+")").Scan(&n); err != nil {
		return false, fmt.Errorf("looking for windows and deadlines the clock passed: %w", err)
	}
	return n > 0, nil
}

// passedDeadlinesQuery selects the people with an FCR window end, an
// unanswered SLA deadline or an unanswered handoff's SLA deadline between the last build's clock and this one's:
// the models judge those against the clock, so their rows change. The
// range works both ways, for a clock set back (a test, a corrected host
// clock). ok is false when the last build recorded no clock.
func (b *build) passedDeadlinesQuery() (q string, ok bool) {
	prev := b.prev.JudgedAt
	if !prev.Valid {
		prev = b.prev.MaxEventAt // a build before the clock was recorded judged against the latest event
	}
	if !prev.Valid || !b.next.JudgedAt.Valid {
		return "", false
	}
	old, cur := timeLiteral(prev), timeLiteral(b.next.JudgedAt)
	lo, hi := fmt.Sprintf("least(%s, %s)", old, cur), fmt.Sprintf("greatest(%s, %s)", old, cur)
	return fmt.Sprintf(`select a.contact_key
		from int_conversations_aggregated as a
		left join cfg_sla as s on s.channel = a.channel
		left join int_conversations_business_timed as b on b.conversation_id = a.conversation_id
		where (%[1]s >= %[3]s and %[1]s < %[4]s)
		   or (a.first_response_at is null and %[2]s >= %[3]s and %[2]s < %[4]s)
		   or (a.agent_first_response_at is null and %[5]s >= %[3]s and %[5]s < %[4]s)`,
		fcrWindowEnd("a.resolved_at", b.cfg.FCRWindow.Microseconds()),
		fmt.Sprintf("(case when s.clock = 'business' then b.sla_business_due_at else %s end)", slaDeadline("a.first_inbound_at", "s.sla_s")), lo, hi,
		slaDeadline("a.handoff_at", "a.handoff_sla_s")), true
}

// fcrWindowEnd and slaDeadline (for an SLA on the clock; one on business
// hours has its due instant stored, sla_business_due_at) are the expressions the models compare with
// the build's clock; the scoping step must use the same ones.
func fcrWindowEnd(resolvedAt string, windowUS int64) string {
	return fmt.Sprintf("(%s + to_microseconds(%d))", resolvedAt, windowUS)
}

func slaDeadline(firstInboundAt, slaS string) string {
	return fmt.Sprintf("(%s + to_microseconds(cast(round(%s * 1e6) as bigint)))", firstInboundAt, slaS)
}

// countScopes records how much an incremental build recomputed.
func (b *build) countScopes(ctx context.Context) error {
	q := "select count(*) from int_conversations_aggregated"
	if b.vars.Incremental {
		q = `select count(*) from conversations where contact_key in (select contact_key from _scope_contacts)`
	}
	if err := b.conn.QueryRowContext(ctx, q).Scan(&b.stats.Conversations); err != nil {
		return fmt.Errorf("counting recomputed conversations: %w", err)
	}
	if b.vars.Incremental {
		if err := b.conn.QueryRowContext(ctx, "select count(distinct contact_key) from _scope_contacts").Scan(&b.stats.Contacts); err != nil {
			return fmt.Errorf("counting recomputed contacts: %w", err)
		}
	}
	return nil
}
