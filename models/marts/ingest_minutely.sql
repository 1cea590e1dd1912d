-- config: materialized=view
-- test: unique minute topic kafka_partition
-- test: not_null minute topic kafka_partition batches messages accepted duplicates dead_letters write_s_max
--
-- Ingest per minute (UTC, the minute batches committed) × topic ×
-- partition: batches and messages, how they ended, how long the slowest
-- write took, and the consumer lag the minute's last batch left. A view:
-- always current. Operational facts only.

with batches as (

    select * from {{ ref "stg_ingest__batches" }}

),

final as (

    select
        date_trunc('minute', committed_at at time zone 'UTC') at time zone 'UTC' as minute,
        topic,
        kafka_partition,
        count(*) as batches,
        sum(messages)::bigint as messages,
        sum(accepted)::bigint as accepted,
        sum(duplicates)::bigint as duplicates,
        sum(dead_letters)::bigint as dead_letters,
        max(epoch(committed_at) - epoch(started_at)) as write_s_max,
        arg_max(lag_messages, batch_id) as lag_messages
    from batches
    group by all

)

select * from final
