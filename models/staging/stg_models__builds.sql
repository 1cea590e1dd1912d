-- config: materialized=view
-- test: not_null built_batch_id built_events built_at
--
-- The last model build (models_state, one row), renamed.

with source as (

    select * from {{ source "models_state" }}

),

final as (

    select
        built_batch_id,
        built_events,
        max_event_at as built_max_event_at,
        built_at
    from source

)

select * from final
