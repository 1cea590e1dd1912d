-- config: materialized=view
-- test: not_null identifier_kind identifier_hash
--
-- One row per identifier ingest stored: kind, keyed hash and raw value
-- (PII). The value is sealed in the warehouse (identifiers.sealed_value)
-- and unsealed here by cx_identifier_value, a function of the cxlake
-- process that holds the data keys; it is null once the identifier's key
-- was destroyed (erasure, consent withdrawal). Only contact_identities
-- reads it, to show compliance the value behind a hash; no other model
-- reads raw identifiers.

with source as (

    select * from {{ source "identifiers" }}

),

final as (

    select
        identifier_hash,
        identifier_kind,
        cx_identifier_value(identifier_hash, sealed_value) as identifier_value,
        first_seen_at
    from source

)

select * from final
