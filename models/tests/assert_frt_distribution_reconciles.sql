-- The FRT distribution counts every answered conversation in exactly one
-- bucket: per quarter hour × channel × team × handled_by, its buckets add
-- up to the FRT list of the KPI base. Returns the rows that disagree.

with counted as (

    select bucket_at, channel, team, handled_by, sum(conversations) as bucketed
    from frt_distribution_quarter_hourly
    group by all

),

final as (

    select
        base.bucket_at,
        base.channel
    from kpi_counts_quarter_hourly as base
    left join counted
        on counted.bucket_at = base.bucket_at and counted.channel = base.channel
        and counted.team = base.team and counted.handled_by = base.handled_by
    where counted.bucketed is distinct from len(base.frt_s_values)

)

select * from final
