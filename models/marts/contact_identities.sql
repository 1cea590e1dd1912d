-- config: materialized=view
-- test: unique identifier_kind identifier_value
-- test: not_null contact_key identifier_kind identifier_value identifier_hash first_seen_at
-- test: relationships contact_key contacts.contact_key
--
-- One row per identifier: the person (contact_key) it belongs to, the raw
-- value (PII) and its keyed hash. For compliance; analysts see contact_key
-- only.

with identities as (

    select * from {{ ref "int_identifiers_resolved" }}

),

final as (

    select
        contact_key,
        identifier_kind,
        identifier_value,
        identifier_hash,
        first_seen_at
    from identities

)

select * from final
