-- config: materialized=view
-- test: not_null cost_label agent_handled_cap_s
--
-- The cost model the cost figures are priced with (models.cost): one row
-- when one is configured, none otherwise (and then every cost is null).
-- cost_label says what the prices are ("illustrative" for the demo's):
-- the report and the dashboards show it beside every cost. Configuration
-- only: no conversation, no person.

with cost_model as (

    select * from {{ ref "stg_models__cost_model" }}

),

final as (

    select
        cost_label,
        agent_handled_cap_s
    from cost_model

)

select * from final
