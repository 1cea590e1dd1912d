-- config: materialized=view
-- test: unique event_id
--
-- Every event of stg_cx__events with the conversation it belongs to: the
-- stored conversation_id, except for Evolution API (WhatsApp) messages,
-- whose conversations int_whatsapp_conversations_drawn draws from their
-- chat, and one handoff more per takeover drawn there (a person of the
-- business taking a chat over from its bot): event_id <message's
-- event_id>:handoff, at the message's time, by the message's actor, with
-- no team and no context. The handoffs an older ingest stored for the same
-- takeovers are left out. The models that group events by conversation
-- read this view, not stg_cx__events.

with events as (

    select * from {{ ref "stg_cx__events" }}

),

drawn as (

    select * from {{ ref "int_whatsapp_conversations_drawn" }}

),

-- every event but the Evolution ones stored with a chat's id (of either
-- form): those are drawn, or are an older ingest's takeover handoffs
stored as (

    select * from events
    where not coalesce(
        event_source = 'evolution' and regexp_matches(conversation_id, '^wa:[^:@+]*:[0-9a-f]{16}'),
        false)

),

evolution as (

    select events.* replace (drawn.conversation_id as conversation_id)
    from drawn
    inner join events
        on events.event_id = drawn.event_id

),

takeovers as (

    select events.* replace (
        drawn.event_id || ':handoff' as event_id,
        'handoff' as event_type,
        drawn.conversation_id as conversation_id,
        null::varchar as message_direction,
        false as is_private_message,
        null::varchar as message_intent,
        false as is_inbound_message,
        false as is_public_outbound_message,
        null::varchar as handoff_to_team,
        false as handoff_has_context,
        null::bigint as handoff_sla_s
    )
    from drawn
    inner join events
        on events.event_id = drawn.event_id
    where drawn.is_takeover

),

final as (

    select * from stored
    union all by name
    select * from evolution
    union all by name
    select * from takeovers

)

select * from final
