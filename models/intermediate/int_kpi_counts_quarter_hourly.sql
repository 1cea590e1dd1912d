-- config: materialized=incremental unique_key=bucket_at scope=days:day after=conversations
--
-- The additive KPI base at a 15-minute grain: one row per UTC quarter hour
-- × channel × team × handled_by, with the same parts as
-- int_kpi_counts_aggregated (partials/kpi_counts.sql). Every time zone's
-- offset is a whole number of quarter hours, at every date, so the local
-- day (or hour) of a conversation is the local day of its quarter hour:
-- summed by local day in any zone, these rows give that zone's daily KPIs
-- exactly (the KPI report's --tz, the dashboards' time zone). day is the
-- UTC day of the quarter hour, for the incremental scope.

with facts as (

    select * from {{ ref "int_kpi_facts_unioned" }}

),

final as (

    select
        day,
        to_timestamp(floor(epoch(fact_at) / 900) * 900) as bucket_at,
        channel,
        team,
        handled_by,
        {{ partial "kpi_counts" }}
    from facts
    group by all

)

select * from final
