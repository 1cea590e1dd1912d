-- The additive KPI parts of a set of int_kpi_facts_unioned rows: each
-- rate's numerator and denominator as counts, and the FRT, agent FRT and
-- resolution time of every conversation, and every reply time of its
-- conversations, as sorted lists, and each list's
-- total in whole microseconds (an integer, so that sums over any rows are
-- exact, whatever their order: the means of models/kpi.go). The one list of
-- them, for every grain of the KPI base (int_kpi_counts_aggregated by UTC
-- day, int_kpi_counts_quarter_hourly by 15 minutes); models/kpi.go turns
-- any set of their rows into the KPIs.
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
        coalesce(list(resolution_s order by resolution_s) filter (where resolution_s is not null), []) as resolution_s_values,
        coalesce(sum(cast(round(frt_s * 1e6) as bigint)), 0)::bigint as frt_us_sum,
        coalesce(sum(cast(round(agent_frt_s * 1e6) as bigint)), 0)::bigint as agent_frt_us_sum,
        coalesce(sum(cast(round(resolution_s * 1e6) as bigint)), 0)::bigint as resolution_us_sum,
        coalesce(list_sort(flatten(list(reply_time_s_values))), []) as reply_time_s_values,
        coalesce(sum(reply_time_us_sum), 0)::bigint as reply_time_us_sum,
        coalesce(list(resolution_business_s order by resolution_business_s) filter (where resolution_business_s is not null), []) as resolution_business_s_values,
        coalesce(sum(cast(round(resolution_business_s * 1e6) as bigint)), 0)::bigint as resolution_business_us_sum,
        coalesce(list(handoff_s order by handoff_s) filter (where handoff_s is not null), []) as handoff_s_values,
        coalesce(sum(cast(round(handoff_s * 1e6) as bigint)), 0)::bigint as handoff_us_sum,
        coalesce(list(handoff_business_s order by handoff_business_s) filter (where handoff_business_s is not null), []) as handoff_business_s_values,
        coalesce(sum(cast(round(handoff_business_s * 1e6) as bigint)), 0)::bigint as handoff_business_us_sum,
        count(handoff_sla_met) as handoff_sla_known_conversations,
        count(*) filter (where handoff_sla_met) as handoff_sla_met_conversations,
        count(repeated_after_handoff) as repeat_handoff_known_conversations,
        count(*) filter (where repeated_after_handoff) as repeat_handoff_conversations,
        count(repeated_after_switch) as repeat_switch_known_conversations,
        count(*) filter (where repeated_after_switch) as repeat_switch_conversations
