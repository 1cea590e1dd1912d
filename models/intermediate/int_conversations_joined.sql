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
        end as handoff_sla_met
    from conversations
    left join business
        on business.conversation_id = conversations.conversation_id
    left join followed
        on followed.conversation_id = conversations.conversation_id
    left join repeated
        on repeated.conversation_id = conversations.conversation_id
    left join sla
        on sla.channel = conversations.channel

)

select * from final
