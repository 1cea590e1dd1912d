-- config: materialized=view
-- test: not_null contact_key
--
-- Every event with the contact_key of the person it names. A view: it costs
-- nothing to refresh, and it always agrees with the latest identity
-- resolution.

with events as (

    select * from {{ ref "int_events_conversed" }}

),

identities as (

    select
        identifier_hash,
        contact_key
    from {{ ref "int_identifiers_resolved" }}

),

final as (

    select
        identities.contact_key,
        events.*
    from events
    left join identities
        on identities.identifier_hash = events.contact_hash

)

select * from final
