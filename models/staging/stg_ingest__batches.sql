-- config: materialized=view
-- test: not_null batch_id topic kafka_partition messages committed_at
--
-- One row per committed ingest batch and topic-partition (ingest_batches),
-- renamed. Operational facts only: offsets, counts, times.

with source as (

    select * from {{ source "ingest_batches" }}

),

final as (

    select
        batch_id,
        topic,
        "partition" as kafka_partition,
        first_offset,
        last_offset,
        lag as lag_messages,
        messages,
        accepted,
        duplicates,
        dead_letters,
        started_at,
        committed_at
    from source

)

select * from final
