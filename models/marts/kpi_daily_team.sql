-- config: materialized=incremental unique_key=day scope=days:day after=conversations
-- test: unique day channel team
-- test: not_null day channel team conversations csat_responses nps_responses
--
-- The service KPIs per day × channel × team, as defined in docs/models.md
-- ("KPI definitions"). team is 'none' for conversations no team handled
-- and for surveys answered outside a conversation. Rates are fractions from 0 to 1 over the eligible
-- conversations and null when none is eligible; percentiles are continuous.

with facts as (

    select * from {{ ref "int_kpi_facts_unioned" }}

),

final as (

    select
        day, channel, team,
        count(*) filter (where is_conversation) as conversations,
        quantile_cont(frt_s, 0.5) as frt_p50_s,
        quantile_cont(frt_s, 0.9) as frt_p90_s,
        quantile_cont(agent_frt_s, 0.5) as agent_frt_p50_s,
        quantile_cont(agent_frt_s, 0.9) as agent_frt_p90_s,
        avg(escalated::integer) filter (where bot_handled) as escalation_rate,
        avg((not escalated)::integer) filter (where bot_handled and is_resolved) as containment_rate,
        quantile_cont(resolution_s, 0.5) as resolution_p50_s,
        avg(reopened::integer) filter (where was_resolved) as reopen_rate,
        avg(fcr::integer) as fcr_rate,
        avg(recontact_other_channel::integer) as recontact_rate,
        avg(handoff_has_context::integer) filter (where has_handoff) as handoff_context_rate,
        avg((csat_score >= 4)::integer) as csat,
        count(csat_score) as csat_responses,
        100 * (avg((nps_score >= 9)::integer) - avg((nps_score <= 6)::integer)) as nps,
        count(nps_score) as nps_responses,
        avg(sla_breached::integer) as sla_breach_rate,
        count(*) filter (where bot_handled) as bot_handled_conversations,
        count(*) filter (where is_resolved) as resolved_conversations,
        count(fcr) as fcr_known_conversations
    from facts
    group by day, channel, team

)

select * from final
