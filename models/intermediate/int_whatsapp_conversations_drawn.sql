-- config: materialized=incremental unique_key=event_id scope=chats:chat_id
-- test: unique event_id
-- test: not_null event_id chat_id conversation_id conversation_number is_takeover
--
-- WhatsApp has chats, not conversations: a chat goes on for years. This
-- model draws the conversations of the Evolution API chats from their
-- stored messages, one row per message (calls included). Ingest stores
-- each message with its chat's id, wa:<instance>:<16 hex digits> (the
-- hex digits are pseudonym's keyed hash of the chat, domain
-- cxlake/whatsapp_chat/v1, so no phone number shows); an older ingest
-- stored wa:<instance>:<16 hex>:<n>, its own cut, and this model reads
-- the chat out of both.
--
-- In each chat, messages in time order (ties by event_id): a message more
-- than the gap (sources.evolution.conversation_gap, default 24h) after the
-- previous one, or the chat's first, starts a conversation; exactly the gap
-- after stays in it. conversation_number counts the chat's conversations
-- from 1, and conversation_id is <chat>:<number>, the form an older ingest
-- stored. Both depend only on the chat's stored messages, not on the order
-- they were read in or the batches they came in, so a refresh and a full
-- rebuild draw the same. A new gap changes the fingerprint: the next
-- refresh redraws every chat from the stored events.
--
-- is_takeover marks the message of a person of the business (actor agent:
-- typed on the phone or WhatsApp Web) that took a conversation over from
-- its bot: the first one at or after the conversation's first bot message
-- (ties by event_id), at most one per conversation. int_events_conversed
-- adds a handoff there. An older ingest stored these handoffs as events of
-- their own; they are left out and drawn here instead.
--
-- An incremental build redraws the chats in scope (_scope_chats: the chats
-- of the new batches' events and of removed events), whole.

with messages as (

    select
        event_id,
        occurred_at,
        event_type,
        actor_kind,
        regexp_extract(conversation_id, '^wa:[^:@+]*:[0-9a-f]{16}') as chat_id
    from {{ ref "stg_cx__events" }}
    where event_source = 'evolution'
      and event_type <> 'handoff'
      and conversation_id like 'wa:%'
      and batch_id <= {{ .ToBatch }}

),

in_scope as (

    select * from messages
    where chat_id <> ''
    {{- if .Incremental }}
      and chat_id in (select chat_id from {{ scope "chats" }})
    {{- end }}

),

stepped as (

    select
        *,
        lag(occurred_at) over (partition by chat_id order by occurred_at, event_id) as previous_at
    from in_scope

),

numbered as (

    select
        *,
        sum(case
                when previous_at is null
                  or epoch_us(occurred_at) - epoch_us(previous_at) > {{ .WhatsAppGapUS }} then 1
                else 0
            end) over (
            partition by chat_id order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as conversation_number
    from stepped

),

drawn as (

    select
        *,
        chat_id || ':' || conversation_number as conversation_id
    from numbered

),

bot_answered as (

    select
        *,
        min(occurred_at) filter (where event_type = 'message' and actor_kind = 'bot')
            over (partition by conversation_id) as first_bot_at
    from drawn

),

takeovers as (

    select
        event_id,
        row_number() over (partition by conversation_id order by occurred_at, event_id) = 1 as is_first
    from bot_answered
    where event_type = 'message'
      and actor_kind = 'agent'
      and occurred_at >= first_bot_at

),

final as (

    select
        bot_answered.event_id,
        bot_answered.chat_id,
        bot_answered.conversation_number::integer as conversation_number,
        bot_answered.conversation_id,
        coalesce(takeovers.is_first, false) as is_takeover
    from bot_answered
    left join takeovers
        on takeovers.event_id = bot_answered.event_id

)

select * from final
