-- The means of kpi_daily, built from the base's microsecond totals and list
-- lengths, equal the same means taken directly over the conversations of
-- each UTC day and channel. Returns the day and channel rows that disagree.

with direct as (

    select
        (opened_at at time zone 'UTC')::date as day,
        channel,
        sum(cast(round(frt_s * 1e6) as bigint))::double / nullif(count(frt_s), 0) / 1e6 as frt_mean_s,
        sum(cast(round(agent_frt_s * 1e6) as bigint))::double / nullif(count(agent_frt_s), 0) / 1e6 as agent_frt_mean_s,
        sum(cast(round(resolution_s * 1e6) as bigint))::double / nullif(count(resolution_s), 0) / 1e6 as resolution_mean_s
    from conversations
    group by all

),

final as (

    select
        direct.day,
        direct.channel
    from direct
    left join kpi_daily
        on kpi_daily.day = direct.day and kpi_daily.channel = direct.channel
    where kpi_daily.day is null
       or direct.frt_mean_s is distinct from kpi_daily.frt_mean_s
       or direct.agent_frt_mean_s is distinct from kpi_daily.agent_frt_mean_s
       or direct.resolution_mean_s is distinct from kpi_daily.resolution_mean_s

)

select * from final
