-- config: materialized=view
-- test: unique price_kind price_scope
-- test: not_null price_kind price_scope per_bot_message per_bot_conversation per_agent_minute per_agent_message
-- test: accepted_values price_kind channel,team
--
-- The cost model's prices as configured (cfg_cost_prices, written from
-- models.cost at every build), renamed: per channel ('channel', a channel
-- name or 'default') the cost of a bot message and of a bot conversation,
-- per team ('team', a team name, 'none' for a conversation without a team,
-- or 'default') the cost of an agent-handled minute and of an agent
-- message. Empty when no cost model is configured.

with source as (

    select * from {{ source "cfg_cost_prices" }}

),

final as (

    select
        kind as price_kind,
        scope as price_scope,
        bot_message as per_bot_message,
        bot_conversation as per_bot_conversation,
        agent_minute as per_agent_minute,
        agent_message as per_agent_message
    from source

)

select * from final
