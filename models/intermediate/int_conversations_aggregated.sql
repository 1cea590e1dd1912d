-- config: materialized=incremental unique_key=conversation_id scope=conversations:conversation_id
-- test: unique conversation_id
-- test: not_null conversation_id contact_key channel opened_at event_count bot_handled escalated reopened
-- test: not_null reply_time_s_values reply_waits
--
-- One row per conversation: the facts that depend only on its own events
-- (every event with its conversation_id, whatever the type), and the person
-- it belongs to (the one named by its earliest event). Ties in time are
-- broken by event_id, so the result never depends on arrival order.
--
-- Per agent (kpi_daily_agent), by the agents' pseudonymous keys
-- (stg_cx__events.actor_key, null unless models.per_agent is on): the
-- agents who took part (any event of theirs), the one whose reply ended
-- the human wait (agent FRT), the one who resolved it, and the agent who
-- ended each reply-time wait. Defined here, beside the conversation's own
-- figures, so that each agent figure is the conversation's figure credited.

-- An incremental build materializes its few events once: they are read
-- twice, to aggregate and to pick the identities they name.
with events as {{ if .Incremental }}materialized {{ end }}(

    {{- if not .Incremental }}

    select * from {{ ref "int_events_conversed" }}
    where conversation_id is not null
      and batch_id <= {{ .ToBatch }}

    {{- else }}

    -- The events of the conversations in scope: those since the earliest
    -- of them opened, plus any earlier ones in the new batches. Both
    -- filters prune by zone map, so the cost follows recent data.
    select * from {{ ref "int_events_conversed" }}
    where conversation_id in (select conversation_id from {{ scope "conversations" }})
      and occurred_at >= {{ .ScopeStartAt }}
      and batch_id <= {{ .ToBatch }}

    union all

    select * from {{ ref "int_events_conversed" }}
    where conversation_id in (select conversation_id from {{ scope "conversations" }})
      and occurred_at < {{ .ScopeStartAt }}
      and batch_id > {{ .FromBatch }}
      and batch_id <= {{ .ToBatch }}

    {{- end }}

),

-- Reply time (Chatwoot's reply_time): the customer starts waiting at an
-- inbound message that follows no other inbound one (among customer and
-- public agent messages, in time order; at the same instant the customer's
-- message comes first, so a reply at that instant counts, 0 s), and stops
-- at the next public agent message. The first such wait is the first
-- exchange, which FRT and agent FRT judge; the later ones are reply times.
-- Bot messages and private notes are no reply: a customer answered only by
-- a bot is still waiting for a human.
exchanges as (

    select
        conversation_id,
        occurred_at,
        is_inbound_message as is_inbound,
        actor_key,
        row_number() over (
            partition by conversation_id order by occurred_at, is_inbound_message desc, event_id
        ) as seq
    from events
    where is_inbound_message
       or (is_public_outbound_message and actor_kind = 'agent')

),

turns as (

    -- the first inbound message of each run of them, and the agent message
    -- that ends it: they alternate, so a start's next row is its end
    select
        conversation_id,
        occurred_at,
        is_inbound,
        actor_key,
        seq
    from (
        select
            *,
            lag(is_inbound) over (partition by conversation_id order by seq) as after_inbound
        from exchanges
    )
    where is_inbound <> coalesce(after_inbound, false)

),

waits as (

    select
        conversation_id,
        row_number() over (partition by conversation_id order by seq) as wait_number,
        (epoch_us(ended_at) - epoch_us(occurred_at)) / 1e6 as reply_time_s,
        ended_by
    from (
        select
            *,
            lead(occurred_at) over (partition by conversation_id order by seq) as ended_at,
            lead(actor_key) over (partition by conversation_id order by seq) as ended_by
        from turns
    )
    where is_inbound and ended_at is not null

),

replies as (

    select
        conversation_id,
        list(reply_time_s order by reply_time_s) as reply_time_s_values,
        -- the agent whose message ended each wait
        list({'actor_key': ended_by, 'reply_time_s': reply_time_s} order by reply_time_s, ended_by)
            filter (where ended_by is not null) as agent_reply_times
    from waits
    where wait_number > 1
    group by conversation_id

),

identities as (

    select
        identifier_hash,
        contact_key
    from {{ ref "int_identifiers_resolved" }}
    {{- if .Incremental }}
    -- Only the identities these events name: otherwise DuckDB may build its
    -- join's hash table from every identity (measured: 0.1 s at 5M events).
    where identifier_hash in (select contact_hash from events)
    {{- end }}

),

aggregated as (

    select
        conversation_id,
        arg_min(channel, (occurred_at, event_id)) filter (where channel is not null) as channel,
        arg_min(contact_hash, (occurred_at, event_id)) as first_contact_hash,
        arg_min(handoff_to_team, (occurred_at, event_id))
            filter (where event_type = 'handoff' and handoff_to_team is not null) as handoff_team,
        arg_min(actor_team, (occurred_at, event_id))
            filter (where actor_kind = 'agent' and actor_team is not null) as agent_team,

        min(occurred_at) as opened_at,
        max(occurred_at) as last_event_at,
        min(occurred_at) filter (where is_inbound_message) as first_inbound_at,
        list(occurred_at) filter (where is_public_outbound_message and actor_kind in ('bot', 'agent')) as response_times,
        list(occurred_at) filter (where is_public_outbound_message and actor_kind = 'agent') as agent_response_times,
        list({'at': occurred_at, 'actor_key': actor_key} order by occurred_at, event_id)
            filter (where is_public_outbound_message and actor_kind = 'agent') as agent_responses,
        list_sort(list_distinct(list(actor_key) filter (where actor_kind = 'agent' and actor_key is not null))) as agent_keys,
        -- the actor of the last resolution when it is an agent (null when
        -- the system or a bot resolved it last)
        arg_max_null(case when actor_kind = 'agent' then actor_key end, (occurred_at, event_id))
            filter (where event_type = 'resolved') as last_resolver_key,

        -- A private note (or a system message) is never a reply: it makes no
        -- conversation bot-handled and escalates none (DESIGN.md, edges).
        count(*) filter (where event_type = 'message' and actor_kind = 'bot' and not is_private_message) > 0 as bot_handled,
        count(*) filter (
            where event_type = 'handoff'
               or (event_type = 'message' and actor_kind = 'agent' and not is_private_message)
        ) > 0 as reached_human,
        min(occurred_at) filter (where event_type = 'handoff') as handoff_at,
        -- where Chatwoot restarts its first response time: the last handoff
        -- or reopening
        max(occurred_at) filter (where event_type in ('handoff', 'reopened')) as last_restart_at,
        arg_min(handoff_has_context, (occurred_at, event_id)) filter (where event_type = 'handoff') as handoff_has_context,
        arg_min(handoff_sla_s, (occurred_at, event_id)) filter (where event_type = 'handoff') as handoff_sla_s,
        arg_min(handoff_items, (occurred_at, event_id)) filter (where event_type = 'handoff') as handoff_items,

        min(occurred_at) filter (where event_type = 'resolved') as first_resolved_at,
        max(occurred_at) filter (where event_type = 'resolved') as last_resolved_at,
        max(occurred_at) filter (where event_type = 'reopened' or is_inbound_message) as last_reopen_signal_at,

        arg_max(survey_score, (occurred_at, event_id)) filter (where survey_kind = 'csat') as csat_score,
        arg_max(survey_score, (occurred_at, event_id)) filter (where survey_kind = 'nps') as nps_score,

        count(*) as event_count,
        count(*) filter (where event_type = 'message') as message_count,
        count(*) filter (where is_inbound_message) as inbound_message_count,
        count(*) filter (where event_type = 'message' and actor_kind = 'bot') as bot_message_count,
        count(*) filter (where event_type = 'message' and actor_kind = 'agent') as agent_message_count
    from events
    group by conversation_id

),

timed as (

    select
        *,
        list_min(list_filter(response_times, lambda t: t >= first_inbound_at)) as first_response_at,
        -- a conversation waits for a human from the handoff, or from the
        -- first inbound message when there was no handoff
        case when reached_human then coalesce(handoff_at, first_inbound_at) end as human_wait_started_at
    from aggregated

),

resolved as (

    select
        *,
        list_min(list_filter(agent_response_times, lambda t: t >= human_wait_started_at)) as agent_first_response_at,
        list_filter(agent_responses, lambda r: r.at >= human_wait_started_at)[1].actor_key as agent_first_responder_key,
        -- Chatwoot's first response time starts at the latest of the first
        -- inbound message, the last handoff and the last reopening
        greatest(first_inbound_at, last_restart_at) as chatwoot_frt_started_at,
        -- resolved now: resolved, and no reopen or inbound message after the last resolution
        case
            when last_resolved_at is not null
                and (last_reopen_signal_at is null or last_reopen_signal_at <= last_resolved_at)
                then last_resolved_at
        end as resolved_at,
        coalesce(last_reopen_signal_at > first_resolved_at, false) as reopened
    from timed

),

final as (

    select
        resolved.conversation_id,
        identities.contact_key,
        coalesce(resolved.channel, 'none') as channel,
        coalesce(resolved.handoff_team, resolved.agent_team) as team,
        resolved.opened_at,
        resolved.last_event_at,
        resolved.first_inbound_at,
        resolved.first_response_at,
        (epoch_us(resolved.first_response_at) - epoch_us(resolved.first_inbound_at)) / 1e6 as frt_s,
        resolved.human_wait_started_at,
        resolved.agent_first_response_at,
        (epoch_us(resolved.agent_first_response_at) - epoch_us(resolved.human_wait_started_at)) / 1e6 as agent_frt_s,
        (epoch_us(list_min(list_filter(resolved.agent_response_times, lambda t: t >= resolved.chatwoot_frt_started_at)))
            - epoch_us(resolved.chatwoot_frt_started_at)) / 1e6 as frt_since_last_handoff_s,
        resolved.bot_handled,
        resolved.bot_handled and resolved.reached_human as escalated,
        resolved.reached_human,
        resolved.handoff_at,
        resolved.handoff_has_context,
        resolved.handoff_sla_s,
        -- the first handoff's items (0 to 4): null without a handoff, or
        -- when it was stored before they were recorded
        bit_count(resolved.handoff_items)::integer as handoff_completeness,
        list_min(resolved.agent_response_times) as agent_first_message_at,
        resolved.first_resolved_at,
        resolved.resolved_at,
        (epoch_us(resolved.resolved_at) - epoch_us(resolved.first_inbound_at)) / 1e6 as resolution_s,
        -- time to handoff: the first inbound message to the first handoff,
        -- when the handoff came at or after it
        case when resolved.handoff_at >= resolved.first_inbound_at
            then (epoch_us(resolved.handoff_at) - epoch_us(resolved.first_inbound_at)) / 1e6
        end as handoff_s,
        resolved.reopened,
        resolved.csat_score,
        resolved.nps_score,
        resolved.event_count,
        resolved.message_count,
        resolved.inbound_message_count,
        resolved.bot_message_count,
        resolved.agent_message_count,
        coalesce(replies.reply_time_s_values, []) as reply_time_s_values,
        len(coalesce(replies.reply_time_s_values, [])) as reply_waits,
        list_aggregate(replies.reply_time_s_values, 'quantile_cont', 0.5) as reply_time_p50_s,
        list_aggregate(replies.reply_time_s_values, 'quantile_cont', 0.9) as reply_time_p90_s,
        list_sum(list_transform(replies.reply_time_s_values, lambda r: cast(round(r * 1e6) as bigint)))::bigint as reply_time_us_sum,
        list_sum(list_transform(replies.reply_time_s_values, lambda r: cast(round(r * 1e6) as bigint)))::double
            / nullif(len(replies.reply_time_s_values), 0) / 1e6 as reply_time_mean_s,
        coalesce(resolved.agent_keys, []) as agent_keys,
        resolved.agent_first_responder_key,
        case when resolved.resolved_at is not null then resolved.last_resolver_key end as resolver_agent_key,
        coalesce(replies.agent_reply_times, []) as agent_reply_times
    from resolved
    left join identities
        on identities.identifier_hash = resolved.first_contact_hash
    left join replies
        on replies.conversation_id = resolved.conversation_id

)

select * from final
