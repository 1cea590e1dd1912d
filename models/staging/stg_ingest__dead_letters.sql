-- config: materialized=view
-- test: not_null topic kafka_partition kafka_offset reason_code received_at
--
-- One row per dead letter (dead_letters), without its payload or key: those
-- may hold personal data and are sealed. The free-text reason holds none
-- (it names fields and rules, never values: event.RejectError, and the
-- writer withholds any reason shaped like an e-mail or a phone), but it is
-- left out too: the reason code is the stable part to count by. What is
-- left is where it came from, how large it was and its reason code.

with source as (

    select * from {{ source "dead_letters" }}

),

final as (

    select
        topic,
        "partition" as kafka_partition,
        "offset" as kafka_offset,
        reason_code,
        raw_size as raw_bytes,
        batch_id,
        received_at
    from source

)

select * from final
