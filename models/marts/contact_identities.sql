-- config: materialized=view
-- test: unique identifier_hash
-- test: not_null contact_key identifier_kind identifier_hash first_seen_at
-- test: relationships contact_key int_contacts_summarized.contact_key
--
-- One row per identifier: the person (contact_key) it belongs to, its keyed
-- hash and the raw value (PII) as ingest stored it. For compliance; analysts
-- see contact_key only. A view: the raw value is looked up in the events
-- when queried, so no derived table ever holds a raw identifier. People who
-- withdrew consent to analytics stay here, flagged (consent_withdrawn), so
-- compliance can still answer about them; their raw values are gone
-- (null) while the withdrawal is in force.

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

withdrawn as (

    select * from {{ ref "int_contacts_withdrawn" }}
    where hidden_until = 'infinity'::timestamptz

),

final as (

    select
        identities.contact_key,
        identities.identifier_kind,
        raw_values.identifier_value,
        identities.identifier_hash,
        identities.first_seen_at,
        withdrawn.contact_key is not null as consent_withdrawn
    from identities
    left join raw_values
        on raw_values.identifier_hash = identities.identifier_hash
    left join withdrawn
        on withdrawn.contact_key = identities.contact_key

)

select * from final
