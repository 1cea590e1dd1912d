-- config: materialized=view
-- test: unique identifier_hash
-- test: not_null contact_key identifier_kind identifier_hash first_seen_at
-- test: relationships contact_key contacts.contact_key
--
-- One row per identifier: the person (contact_key) it belongs to, its keyed
-- hash and the raw value (PII) as ingest stored it. For compliance; analysts
-- see contact_key only. A view: the raw value is looked up in the events
-- when queried, so no derived table ever holds a raw identifier.

with identities as (

    select * from {{ ref "int_identifiers_resolved" }}

),

raw_values as (

    select
        identifier_hash,
        any_value(identifier_value) as identifier_value
    from {{ ref "stg_cx__identifiers" }}
    group by identifier_hash

),

final as (

    select
        identities.contact_key,
        identities.identifier_kind,
        raw_values.identifier_value,
        identities.identifier_hash,
        identities.first_seen_at
    from identities
    left join raw_values
        on raw_values.identifier_hash = identities.identifier_hash

)

select * from final
