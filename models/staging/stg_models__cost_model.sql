-- config: materialized=view
-- test: not_null cost_label agent_handled_cap_s
--
-- The cost model as configured (cfg_cost_model, written from models.cost
-- at every build), renamed: one row when a cost model is configured, none
-- otherwise. cost_label says what the figures are ("illustrative" for the
-- demo's); agent_handled_cap_s caps a conversation's agent-handled time.

with source as (

    select * from {{ source "cfg_cost_model" }}

),

final as (

    select
        label as cost_label,
        agent_handled_cap_s
    from source

)

select * from final
