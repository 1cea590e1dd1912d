-- config: materialized=incremental unique_key=conversation_id scope=contacts:contact_key
-- test: unique conversation_id
--
-- Every fact about a conversation in one row: its own facts, business
-- time, what followed it, and SLA breach against its channel's expected
-- response time. A table (the conversations mart is a view over it), so
-- that the KPI facts scan it instead of redoing this four-way join over
-- the days in scope (196 ms of a 1 s refresh at 5M events). An
-- incremental build recomputes the people in scope. A conversation answered later than the SLA breached it; an
-- unanswered one breached it once the SLA has elapsed before the build's
-- clock, never the latest event (until then sla_breached is null). The
-- SLA runs on its channel's clock (cfg_sla.clock): elapsed time (frt_s,
-- first_inbound_at + sla_s), or business hours (frt_business_s, and
-- int_conversations_business_timed's sla_business_due_at). handoff_sla_met
-- judges the first handoff's own SLA the same way, on the clock.
-- cost prices the conversation with the cost model (models.cost; null
-- without one, or when a price it needs is missing): its channel's bot
-- prices, its team's agent prices (an entry of its own, else 'default').

with conversations as (

    select * from {{ ref "int_conversations_aggregated" }}
    {{- if .Incremental }}
    where contact_key in (select contact_key from {{ scope "contacts" }})
    {{- end }}

),

business as (

    select * from {{ ref "int_conversations_business_timed" }}

),

followed as (

    select * from {{ ref "int_conversations_followed_up" }}

),

repeated as (

    select * from {{ ref "int_conversations_repeated" }}

),

sla as (

    select * from {{ source "cfg_sla" }}

),

cost_model as (

    select * from {{ ref "stg_models__cost_model" }}

),

prices as (

    select * from {{ ref "stg_models__cost_prices" }}

),

final as (

    select
        conversations.*,
        business.schedule_key,
        business.frt_business_s,
        business.agent_frt_business_s,
        business.resolution_business_s,
        business.handoff_business_s,
        followed.is_fcr_window_closed,
        followed.fcr,
        followed.recontact_other_channel,
        followed.recontact_at,
        repeated.repeated_after_handoff,
        repeated.repeated_after_switch,
        sla.sla_s,
        sla.clock as sla_clock,
        case
            when conversations.first_inbound_at is null or sla.sla_s is null then null
            when sla.clock = 'business' then case
                when business.frt_business_s is not null then business.frt_business_s > sla.sla_s
                when business.sla_business_due_at < {{ .Now }} then true
            end
            when conversations.frt_s is not null then conversations.frt_s > sla.sla_s
            when {{ sla_deadline "conversations.first_inbound_at" "sla.sla_s" }} < {{ .Now }} then true
        end as sla_breached,
        -- DESIGN's handoff SLA: the first agent reply after the first
        -- handoff within that handoff's own sla_seconds (on the clock);
        -- unanswered, missed once the deadline is before the build's clock
        -- (the scoping step re-judges when the clock passes it), else
        -- pending (null). Null without a handoff or without its SLA.
        case
            when conversations.handoff_at is null or conversations.handoff_sla_s is null then null
            when conversations.agent_first_response_at is not null
                then conversations.agent_frt_s <= conversations.handoff_sla_s
            when {{ sla_deadline "conversations.handoff_at" "conversations.handoff_sla_s" }} < {{ .Now }} then false
        end as handoff_sla_met,
        -- bot part: per bot message and, when a bot took part, per bot
        -- conversation; agent part: per agent message and per agent-handled
        -- minute (first agent message to resolution, capped). A part with
        -- nothing to price costs 0 without needing a price.
        case when cost_model.cost_label is not null then
            case when conversations.bot_message_count = 0 and not conversations.bot_handled then 0 else
                coalesce(channel_price.per_bot_message, default_channel_price.per_bot_message) * conversations.bot_message_count
                + coalesce(channel_price.per_bot_conversation, default_channel_price.per_bot_conversation) * conversations.bot_handled::integer
            end
            + case when conversations.agent_message_count = 0 and conversations.agent_first_message_at is null then 0 else
                coalesce(team_price.per_agent_message, default_team_price.per_agent_message) * conversations.agent_message_count
                + coalesce(team_price.per_agent_minute, default_team_price.per_agent_minute) * coalesce(least(
                    greatest((epoch_us(conversations.resolved_at) - epoch_us(conversations.agent_first_message_at)) / 1e6, 0),
                    cost_model.agent_handled_cap_s), 0) / 60
            end
        end as cost
    from conversations
    left join business
        on business.conversation_id = conversations.conversation_id
    left join followed
        on followed.conversation_id = conversations.conversation_id
    left join repeated
        on repeated.conversation_id = conversations.conversation_id
    left join sla
        on sla.channel = conversations.channel
    left join cost_model
        on true
    left join prices as channel_price
        on channel_price.price_kind = 'channel' and channel_price.price_scope = conversations.channel
    left join prices as default_channel_price
        on default_channel_price.price_kind = 'channel' and default_channel_price.price_scope = 'default'
    left join prices as team_price
        on team_price.price_kind = 'team' and team_price.price_scope = coalesce(conversations.team, 'none')
    left join prices as default_team_price
        on default_team_price.price_kind = 'team' and default_team_price.price_scope = 'default'

)

select * from final
