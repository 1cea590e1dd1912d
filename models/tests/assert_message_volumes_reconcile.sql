-- Every customer message and every public bot or agent reply of a built
-- conversation is counted once in message_volumes_quarter_hourly: per
-- channel and team, the volumes add up to the conversations' own counts.
-- Returns the channel and team rows that disagree.

with volumes as (

    select channel, team, sum(inbound_messages) as inbound_messages, sum(private_notes) as private_notes,
        sum(bot_messages) + sum(agent_messages) - sum(outbound_messages) as split_error
    from message_volumes_quarter_hourly
    group by all

),

conversations as (

    select channel, coalesce(team, 'none') as team, sum(inbound_message_count) as inbound_messages
    from conversations
    group by all

),

final as (

    select
        coalesce(volumes.channel, conversations.channel) as channel,
        coalesce(volumes.team, conversations.team) as team
    from volumes
    full join conversations
        on conversations.channel = volumes.channel and conversations.team = volumes.team
    where coalesce(volumes.inbound_messages, 0) <> coalesce(conversations.inbound_messages, 0)
       or volumes.split_error <> 0

)

select * from final
