-- config: materialized=view
-- test: unique bucket_at channel team handled_by
-- test: not_null bucket_at day channel team handled_by conversations frt_s_values agent_frt_s_values resolution_s_values
-- test: accepted_values handled_by bot human none
--
-- The additive KPI base of kpi_counts_daily at a 15-minute grain: one row
-- per UTC quarter hour (bucket_at, its start) × channel × team × handled_by,
-- with the same columns. Every time zone's offset is a whole number of
-- quarter hours, so grouping these rows by
-- (bucket_at at time zone '<zone>')::date gives that zone's days exactly:
-- the KPI report's --tz and the dashboards' time zone read it. Aggregate
-- only: no conversation id, no person.

with parts as (

    select * from {{ ref "int_kpi_counts_quarter_hourly" }}

),

final as (

    select * from parts

)

select * from final
