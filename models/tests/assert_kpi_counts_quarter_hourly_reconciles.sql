-- kpi_counts_quarter_hourly summed by UTC day gives back kpi_counts_daily:
-- for every day × channel × team × handled_by, the same counts and the
-- same durations (as sorted lists), and each quarter hour lies in its day.
-- Returns the rows that disagree.

with quarters as (

    select
        day,
        channel,
        team,
        handled_by,
        sum(conversations) as conversations,
        sum(fcr_known_conversations) as fcr_known_conversations,
        sum(fcr_conversations) as fcr_conversations,
        sum(sla_known_conversations) as sla_known_conversations,
        sum(sla_breached_conversations) as sla_breached_conversations,
        sum(csat_responses) as csat_responses,
        sum(nps_responses) as nps_responses,
        sum(escalated_conversations) as escalated_conversations,
        sum(resolved_conversations) as resolved_conversations,
        list_sort(flatten(list(frt_s_values))) as frt_s_values,
        list_sort(flatten(list(agent_frt_s_values))) as agent_frt_s_values,
        list_sort(flatten(list(resolution_s_values))) as resolution_s_values,
        bool_and((bucket_at at time zone 'UTC')::date = day) as in_day
    from kpi_counts_quarter_hourly
    group by day, channel, team, handled_by

),

final as (

    select
        coalesce(d.day, q.day) as day,
        coalesce(d.channel, q.channel) as channel
    from kpi_counts_daily as d
    full join quarters as q
        on q.day = d.day and q.channel = d.channel and q.team = d.team and q.handled_by = d.handled_by
    where d.day is null
       or q.day is null
       or not q.in_day
       or q.conversations <> d.conversations
       or q.fcr_known_conversations <> d.fcr_known_conversations
       or q.fcr_conversations <> d.fcr_conversations
       or q.sla_known_conversations <> d.sla_known_conversations
       or q.sla_breached_conversations <> d.sla_breached_conversations
       or q.csat_responses <> d.csat_responses
       or q.nps_responses <> d.nps_responses
       or q.escalated_conversations <> d.escalated_conversations
       or q.resolved_conversations <> d.resolved_conversations
       or q.frt_s_values <> d.frt_s_values
       or q.agent_frt_s_values <> d.agent_frt_s_values
       or q.resolution_s_values <> d.resolution_s_values

)

select * from final
