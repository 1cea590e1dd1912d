-- config: materialized=view
-- test: unique bucket_at channel team
-- test: not_null bucket_at day channel team inbound_messages outbound_messages bot_messages agent_messages private_notes
--
-- Message volumes for workload planning: per UTC quarter hour in which the
-- messages were sent (not the day their conversation opened) × the
-- conversation's channel × its team ('none' when no team took part), the
-- customer's messages and the public replies, by bot or agent, and the
-- private notes. Every zone's offset is a whole number of quarter hours, so
-- summed by local day in any zone these rows give that zone's days exactly.
-- A view over the events of the batches the last build read (so it agrees
-- with the conversations it joins), computed when queried. Aggregate only.

with messages as (

    select conversation_id, occurred_at, actor_kind, is_inbound_message, is_public_outbound_message, is_private_message
    from {{ ref "int_events_conversed" }}
    where event_type = 'message'
      and conversation_id is not null
      and batch_id <= (select max(built_batch_id) from {{ ref "stg_models__builds" }})

),

conversations as (

    select conversation_id, channel, coalesce(team, 'none') as team
    from {{ ref "int_conversations_joined" }}

),

final as (

    select
        to_timestamp(floor(epoch(messages.occurred_at) / 900) * 900) as bucket_at,
        (to_timestamp(floor(epoch(messages.occurred_at) / 900) * 900) at time zone 'UTC')::date as day,
        conversations.channel,
        conversations.team,
        count(*) filter (where messages.is_inbound_message) as inbound_messages,
        count(*) filter (where messages.is_public_outbound_message and messages.actor_kind in ('bot', 'agent')) as outbound_messages,
        count(*) filter (where messages.is_public_outbound_message and messages.actor_kind = 'bot') as bot_messages,
        count(*) filter (where messages.is_public_outbound_message and messages.actor_kind = 'agent') as agent_messages,
        count(*) filter (where messages.is_private_message) as private_notes
    from messages
    inner join conversations
        on conversations.conversation_id = messages.conversation_id
    group by all

)

select * from final
