-- Every event built from is attributed to a person, and every conversation
-- belongs to a known person. Returns the events without one.

with built as (

    select built_batch_id from models_state where id = 1

),

final as (

    select event_id
    from int_events_attributed
    where contact_key is null
      and batch_id <= (select built_batch_id from built)

)

select * from final
