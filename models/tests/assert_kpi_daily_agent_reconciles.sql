-- kpi_daily_agent credits each conversation's figures to its agents and to
-- no one else: per UTC day, channel and team, its rows hold one
-- conversation per agent who took part, one agent FRT per conversation
-- with a first responder, one resolution per conversation resolved by an
-- agent, and every reply time ended by an agent, as int_conversations_joined
-- has them (all empty when models.per_agent is off: no model sees a key).
-- Returns the day, channel and team rows that disagree.

with expected as (

    select
        (opened_at at time zone 'UTC')::date as day,
        channel,
        coalesce(team, 'none') as team,
        sum(len(agent_keys)) as conversations,
        count(*) filter (where agent_first_responder_key is not null and agent_frt_s is not null) as agent_frts,
        count(*) filter (where resolver_agent_key is not null) as resolved,
        sum(len(agent_reply_times)) as reply_waits
    from int_conversations_joined
    group by all
    having sum(len(agent_keys)) > 0

),

credited as (

    select
        day,
        channel,
        team,
        sum(conversations) as conversations,
        sum(len(agent_frt_s_values)) as agent_frts,
        sum(resolved_conversations) as resolved,
        sum(reply_waits) as reply_waits
    from kpi_daily_agent
    group by all

),

final as (

    select coalesce(e.day, c.day) as day, coalesce(e.channel, c.channel) as channel, coalesce(e.team, c.team) as team
    from expected as e
    full join credited as c
        on e.day = c.day and e.channel = c.channel and e.team = c.team
    where e.conversations is distinct from c.conversations
       or e.agent_frts is distinct from c.agent_frts
       or e.resolved is distinct from c.resolved
       or e.reply_waits is distinct from c.reply_waits

)

select * from final
