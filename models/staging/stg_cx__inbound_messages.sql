-- config: materialized=view
-- test: unique event_id
-- test: not_null event_id occurred_at batch_id
--
-- One row per customer message (type message, direction inbound) of the raw
-- events table, with what is needed to open its text during a build: the
-- subject hash and the sealed content (null when retention, erasure or a
-- withdrawal left none). Nothing is unsealed here: only
-- int_conversations_repeated calls cx_text_tokens on these rows, after
-- narrowing them to the conversations it recomputes.

with source as (

    select * from {{ source "events" }}

),

final as (

    select
        event_id,
        conversation_id,
        occurred_at,
        batch_id,
        subject_hash,
        content
    from source
    where type = 'message'
        and message_direction = 'inbound'
        and conversation_id is not null

)

select * from final
