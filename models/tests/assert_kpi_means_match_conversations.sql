-- The means of kpi_daily, built from the base's microsecond totals and list
-- lengths, equal the same means taken directly over the conversations of
-- each UTC day and channel (reply times: over every wait). Returns the day and channel rows that disagree.

with direct as (

    select
        (opened_at at time zone 'UTC')::date as day,
        channel,
        sum(cast(round(frt_s * 1e6) as bigint))::double / nullif(count(frt_s), 0) / 1e6 as frt_mean_s,
        sum(cast(round(agent_frt_s * 1e6) as bigint))::double / nullif(count(agent_frt_s), 0) / 1e6 as agent_frt_mean_s,
        sum(cast(round(resolution_s * 1e6) as bigint))::double / nullif(count(resolution_s), 0) / 1e6 as resolution_mean_s,
        sum(cast(round(resolution_business_s * 1e6) as bigint))::double / nullif(count(resolution_business_s), 0) / 1e6 as resolution_business_mean_s,
        sum(cast(round(handoff_s * 1e6) as bigint))::double / nullif(count(handoff_s), 0) / 1e6 as handoff_mean_s,
        sum(cast(round(handoff_business_s * 1e6) as bigint))::double / nullif(count(handoff_business_s), 0) / 1e6 as handoff_business_mean_s,
        sum(reply_waits) as reply_waits
    from conversations
    group by all

),

replies as (

    select
        day,
        channel,
        sum(cast(round(reply_time_s * 1e6) as bigint))::double / nullif(count(*), 0) / 1e6 as reply_time_mean_s
    from (
        select (opened_at at time zone 'UTC')::date as day, channel, unnest(reply_time_s_values) as reply_time_s
        from conversations
    )
    group by all

),

final as (

    select
        direct.day,
        direct.channel
    from direct
    left join kpi_daily
        on kpi_daily.day = direct.day and kpi_daily.channel = direct.channel
    left join replies
        on replies.day = direct.day and replies.channel = direct.channel
    where kpi_daily.day is null
       or direct.frt_mean_s is distinct from kpi_daily.frt_mean_s
       or direct.agent_frt_mean_s is distinct from kpi_daily.agent_frt_mean_s
       or direct.resolution_mean_s is distinct from kpi_daily.resolution_mean_s
       or direct.resolution_business_mean_s is distinct from kpi_daily.resolution_business_mean_s
       or direct.handoff_mean_s is distinct from kpi_daily.handoff_mean_s
       or direct.handoff_business_mean_s is distinct from kpi_daily.handoff_business_mean_s
       or direct.reply_waits is distinct from kpi_daily.reply_waits
       or replies.reply_time_mean_s is distinct from kpi_daily.reply_time_mean_s

)

select * from final
