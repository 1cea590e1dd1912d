-- config: materialized=incremental unique_key=day scope=days:day after=conversations
-- test: unique day channel team
-- test: not_null day channel team conversations bot_only_conversations human_conversations frt_s_values agent_frt_s_values
-- test: not_null bot_handled_conversations escalated_conversations bot_resolved_conversations contained_conversations
-- test: not_null resolved_conversations ever_resolved_conversations reopened_conversations fcr_known_conversations fcr_conversations
-- test: not_null recontact_known_conversations recontact_conversations handoffs handoffs_with_context
-- test: not_null csat_responses csat_positive nps_responses nps_promoters nps_detractors sla_known_conversations sla_breached_conversations
--
-- The service KPIs of kpi_daily_team as additive parts, one row per UTC day
-- × channel × team: each rate's numerator and denominator as counts, and
-- the FRT and agent FRT of the day's answered conversations as lists. Sum
-- the counts over any days, channels and teams and divide, or take
-- quantile_cont over the unnested lists, and the KPI of that cut is exact.
-- The dashboards' multi-value channel and team filters read this mart; a
-- rate of kpi_daily_team cannot be averaged across teams. Aggregate only:
-- no conversation id, no person.

with facts as (

    select * from {{ ref "int_kpi_facts_unioned" }}

),

final as (

    select
        day,
        channel,
        team,
        count(*) filter (where is_conversation) as conversations,
        count(*) filter (where is_conversation and bot_handled and not escalated) as bot_only_conversations,
        count(*) filter (where is_conversation and not (bot_handled and not escalated)) as human_conversations,
        coalesce(list(frt_s order by frt_s) filter (where frt_s is not null), []) as frt_s_values,
        coalesce(list(agent_frt_s order by agent_frt_s) filter (where agent_frt_s is not null), []) as agent_frt_s_values,
        count(*) filter (where bot_handled) as bot_handled_conversations,
        count(*) filter (where bot_handled and escalated) as escalated_conversations,
        count(*) filter (where bot_handled and is_resolved) as bot_resolved_conversations,
        count(*) filter (where bot_handled and is_resolved and not escalated) as contained_conversations,
        count(*) filter (where is_resolved) as resolved_conversations,
        count(*) filter (where was_resolved) as ever_resolved_conversations,
        count(*) filter (where was_resolved and reopened) as reopened_conversations,
        count(fcr) as fcr_known_conversations,
        count(*) filter (where fcr) as fcr_conversations,
        count(recontact_other_channel) as recontact_known_conversations,
        count(*) filter (where recontact_other_channel) as recontact_conversations,
        count(handoff_has_context) filter (where has_handoff) as handoffs,
        count(*) filter (where has_handoff and handoff_has_context) as handoffs_with_context,
        count(csat_score) as csat_responses,
        count(*) filter (where csat_score >= 4) as csat_positive,
        count(nps_score) as nps_responses,
        count(*) filter (where nps_score >= 9) as nps_promoters,
        count(*) filter (where nps_score <= 6) as nps_detractors,
        count(sla_breached) as sla_known_conversations,
        count(*) filter (where sla_breached) as sla_breached_conversations
    from facts
    group by day, channel, team

)

select * from final
