-- config: materialized=view
-- test: unique day channel team handled_by
-- test: not_null day channel team handled_by conversations bot_only_conversations human_conversations frt_s_values agent_frt_s_values resolution_s_values
-- test: not_null bot_handled_conversations escalated_conversations bot_resolved_conversations contained_conversations
-- test: not_null resolved_conversations ever_resolved_conversations reopened_conversations fcr_known_conversations fcr_conversations
-- test: not_null recontact_known_conversations recontact_conversations handoffs handoffs_with_context
-- test: not_null csat_responses csat_positive nps_responses nps_promoters nps_detractors sla_known_conversations sla_breached_conversations
-- test: not_null frt_us_sum agent_frt_us_sum resolution_us_sum
-- test: accepted_values handled_by bot human none
--
-- The one additive KPI base, one row per UTC day × channel × team ×
-- handled_by ('bot': a bot took part and no human; 'human': it reached a
-- human or no bot took part; 'none': surveys answered outside a
-- conversation): each rate's numerator and denominator as counts, and the
-- FRT, agent FRT, resolution time (clock and business), time to handoff and
-- reply times of the row's conversations as lists, with their totals in
-- microseconds for the means.
-- Sum the counts over any days, channels, teams and handlers and divide, or
-- take quantile_cont over the unnested lists, and the KPI of that cut is
-- exact. kpi_daily, kpi_daily_team, the KPI report and the dashboards all
-- compute from it. Aggregate only: no conversation id, no person.

with parts as (

    select * from {{ ref "int_kpi_counts_aggregated" }}

),

final as (

    select * from parts

)

select * from final
