-- Every accepted conversation event is counted in exactly one conversation:
-- for each conversation_id, the events built from (batch_id up to the last
-- build) equal the conversation's event_count. Returns the conversations
-- that disagree. The events are int_events_conversed's: WhatsApp messages
-- in the conversations drawn from their chats, and their takeovers.

with built as (

    select built_batch_id from models_state where id = 1

),

events_per_conversation as (

    select
        conversation_id,
        count(*) as events
    from int_events_conversed
    where conversation_id is not null
      and batch_id <= (select built_batch_id from built)
    group by conversation_id

),

final as (

    select
        coalesce(counted.conversation_id, conversations.conversation_id) as conversation_id,
        counted.events,
        conversations.event_count
    from events_per_conversation as counted
    full join conversations
        on conversations.conversation_id = counted.conversation_id
    where counted.events is distinct from conversations.event_count

)

select * from final
