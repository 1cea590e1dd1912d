-- config: materialized=incremental unique_key=day scope=days:day after=conversations
--
-- The one additive KPI base, one row per UTC day × channel × team ×
-- handled_by: each rate's numerator and denominator as counts, and the FRT,
-- agent FRT and resolution time of every conversation of the row as lists.
-- Sum the counts over any rows and divide, or take quantile_cont over the
-- concatenated lists, and the KPI of that set is exact (models/kpi.go holds
-- those expressions; kpi_daily and kpi_daily_team are them grouped by day
-- and channel, and team). Shown to users as the mart kpi_counts_daily.
--
-- handled_by: 'bot' (a bot took part and no human), 'human' (every other
-- conversation: it reached a human, or no bot took part), 'none' (a survey
-- answered outside any conversation).

with facts as (

    select * from {{ ref "int_kpi_facts_unioned" }}

),

final as (

    select
        day,
        channel,
        team,
        case
            when not is_conversation then 'none'
            when bot_handled and not escalated then 'bot'
            else 'human'
        end as handled_by,
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
        count(*) filter (where sla_breached) as sla_breached_conversations,
        coalesce(list(resolution_s order by resolution_s) filter (where resolution_s is not null), []) as resolution_s_values
    from facts
    group by all

)

select * from final
