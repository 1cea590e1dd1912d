-- kpi_counts_daily's parts give back kpi_daily: for every day × channel,
-- the summed counts divided, and quantile_cont over the unnested FRT lists,
-- equal kpi_daily's rates and percentiles, and the rows match one to one.
-- Returns the day and channel rows that disagree.

with parts as (

    select
        day,
        channel,
        sum(conversations) as conversations,
        sum(bot_only_conversations + human_conversations) as split_conversations,
        sum(escalated_conversations) / nullif(sum(bot_handled_conversations), 0) as escalation_rate,
        sum(contained_conversations) / nullif(sum(bot_resolved_conversations), 0) as containment_rate,
        sum(reopened_conversations) / nullif(sum(ever_resolved_conversations), 0) as reopen_rate,
        sum(fcr_conversations) / nullif(sum(fcr_known_conversations), 0) as fcr_rate,
        sum(recontact_conversations) / nullif(sum(recontact_known_conversations), 0) as recontact_rate,
        sum(handoffs_with_context) / nullif(sum(handoffs), 0) as handoff_context_rate,
        sum(csat_positive) / nullif(sum(csat_responses), 0) as csat_share,
        sum(csat_responses) as csat_responses,
        100 * (sum(nps_promoters) - sum(nps_detractors)) / nullif(sum(nps_responses), 0) as nps,
        sum(sla_breached_conversations) / nullif(sum(sla_known_conversations), 0) as sla_breach_rate,
        sum(bot_handled_conversations) as bot_handled_conversations,
        sum(resolved_conversations) as resolved_conversations,
        sum(fcr_known_conversations) as fcr_known_conversations
    from kpi_counts_daily
    group by day, channel

),

frt as (

    select
        day,
        channel,
        quantile_cont(frt_s, 0.5) as frt_p50_s,
        quantile_cont(frt_s, 0.9) as frt_p90_s
    from (select day, channel, unnest(frt_s_values) as frt_s from kpi_counts_daily)
    group by day, channel

),

agent_frt as (

    select
        day,
        channel,
        quantile_cont(agent_frt_s, 0.5) as agent_frt_p50_s,
        quantile_cont(agent_frt_s, 0.9) as agent_frt_p90_s
    from (select day, channel, unnest(agent_frt_s_values) as agent_frt_s from kpi_counts_daily)
    group by day, channel

),

final as (

    select
        coalesce(kpi_daily.day, parts.day) as day,
        coalesce(kpi_daily.channel, parts.channel) as channel
    from kpi_daily
    full join parts
        on parts.day = kpi_daily.day and parts.channel = kpi_daily.channel
    left join frt
        on frt.day = kpi_daily.day and frt.channel = kpi_daily.channel
    left join agent_frt
        on agent_frt.day = kpi_daily.day and agent_frt.channel = kpi_daily.channel
    where kpi_daily.day is null
       or parts.day is null
       or parts.conversations <> kpi_daily.conversations
       or parts.split_conversations <> kpi_daily.conversations
       or parts.csat_responses <> kpi_daily.csat_responses
       or parts.bot_handled_conversations <> kpi_daily.bot_handled_conversations
       or parts.resolved_conversations <> kpi_daily.resolved_conversations
       or parts.fcr_known_conversations <> kpi_daily.fcr_known_conversations
       or not (abs(parts.escalation_rate - kpi_daily.escalation_rate) < 1e-9 or coalesce(parts.escalation_rate, kpi_daily.escalation_rate) is null)
       or not (abs(parts.containment_rate - kpi_daily.containment_rate) < 1e-9 or coalesce(parts.containment_rate, kpi_daily.containment_rate) is null)
       or not (abs(parts.reopen_rate - kpi_daily.reopen_rate) < 1e-9 or coalesce(parts.reopen_rate, kpi_daily.reopen_rate) is null)
       or not (abs(parts.fcr_rate - kpi_daily.fcr_rate) < 1e-9 or coalesce(parts.fcr_rate, kpi_daily.fcr_rate) is null)
       or not (abs(parts.recontact_rate - kpi_daily.recontact_rate) < 1e-9 or coalesce(parts.recontact_rate, kpi_daily.recontact_rate) is null)
       or not (abs(parts.handoff_context_rate - kpi_daily.handoff_context_rate) < 1e-9 or coalesce(parts.handoff_context_rate, kpi_daily.handoff_context_rate) is null)
       or not (abs(parts.csat_share - kpi_daily.csat_share) < 1e-9 or coalesce(parts.csat_share, kpi_daily.csat_share) is null)
       or not (abs(parts.nps - kpi_daily.nps) < 1e-9 or coalesce(parts.nps, kpi_daily.nps) is null)
       or not (abs(parts.sla_breach_rate - kpi_daily.sla_breach_rate) < 1e-9 or coalesce(parts.sla_breach_rate, kpi_daily.sla_breach_rate) is null)
       or (parts.escalation_rate is null) <> (kpi_daily.escalation_rate is null)
       or (parts.containment_rate is null) <> (kpi_daily.containment_rate is null)
       or (parts.fcr_rate is null) <> (kpi_daily.fcr_rate is null)
       or (parts.csat_share is null) <> (kpi_daily.csat_share is null)
       or kpi_daily.csat is distinct from kpi_daily.csat_share -- the deprecated alias
       or (parts.nps is null) <> (kpi_daily.nps is null)
       or (parts.sla_breach_rate is null) <> (kpi_daily.sla_breach_rate is null)
       or frt.frt_p50_s is distinct from kpi_daily.frt_p50_s
       or frt.frt_p90_s is distinct from kpi_daily.frt_p90_s
       or agent_frt.agent_frt_p50_s is distinct from kpi_daily.agent_frt_p50_s
       or agent_frt.agent_frt_p90_s is distinct from kpi_daily.agent_frt_p90_s

)

select * from final
