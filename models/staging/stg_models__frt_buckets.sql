-- config: materialized=view
-- test: unique frt_bucket
-- test: not_null frt_bucket frt_from_s frt_bucket_label
--
-- The FRT distribution's buckets as configured (cfg_frt_buckets, written
-- from models.frt_buckets at every build), renamed: [frt_from_s,
-- frt_to_s), the last one open-ended (frt_to_s null).

with source as (

    select * from {{ source "cfg_frt_buckets" }}

),

final as (

    select
        bucket as frt_bucket,
        label as frt_bucket_label,
        from_s as frt_from_s,
        to_s as frt_to_s
    from source

)

select * from final
