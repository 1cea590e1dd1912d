-- config: materialized=view
-- test: unique minute topic reason_code
-- test: not_null minute topic reason_code dead_letters raw_bytes
--
-- Dead letters per minute (UTC, when stored) × topic × reason code. Reason
-- codes only: never a payload, a key or the free-text reason.

with dead_letters as (

    select * from {{ ref "stg_ingest__dead_letters" }}

),

final as (

    select
        date_trunc('minute', received_at at time zone 'UTC') at time zone 'UTC' as minute,
        topic,
        reason_code,
        count(*) as dead_letters,
        sum(raw_bytes)::bigint as raw_bytes
    from dead_letters
    group by all

)

select * from final
