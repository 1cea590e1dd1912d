-- config: materialized=view
-- test: unique bucket_at channel team handled_by frt_bucket
-- test: not_null bucket_at day channel team handled_by frt_bucket frt_bucket_label frt_from_s conversations
-- test: accepted_values handled_by bot human none
--
-- The FRT distribution (Chatwoot's first response time distribution): per
-- UTC quarter hour × channel × team × handled_by of the KPI base, and per
-- configured bucket (models.frt_buckets; by default 0–1 h, 1–4 h, 4–8 h,
-- 8–24 h, 24 h or more), the answered conversations whose FRT lies in
-- [frt_from_s, frt_to_s): an FRT of exactly 3600 s is in 1–4 h. Every
-- bucket has a row, zero included, so the rows add up over any period
-- (by UTC or local day, as kpi_counts_quarter_hourly) and the buckets of a
-- row add up to the length of its frt_s_values. Counted from the KPI
-- base's FRT lists, so FRT is defined in one place. Aggregate only.

with parts as (

    select bucket_at, day, channel, team, handled_by, frt_s_values
    from {{ ref "int_kpi_counts_quarter_hourly" }}

),

buckets as (

    select * from {{ ref "stg_models__frt_buckets" }}

),

final as (

    select
        parts.bucket_at,
        parts.day,
        parts.channel,
        parts.team,
        parts.handled_by,
        buckets.frt_bucket,
        buckets.frt_bucket_label,
        buckets.frt_from_s,
        buckets.frt_to_s,
        len(list_filter(parts.frt_s_values,
            lambda frt: frt >= buckets.frt_from_s and (buckets.frt_to_s is null or frt < buckets.frt_to_s)))::bigint as conversations
    from parts
    cross join buckets

)

select * from final
