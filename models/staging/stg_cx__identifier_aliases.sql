-- config: materialized=view
-- test: unique identifier_hash
-- test: not_null identifier_hash identifier_kind canonical_hash canonical_kind
--
-- One row per identifier hash made under an older normalization, with the
-- same identifier's hash under the current one (warehouse/aliases.go: the
-- warehouse writes them once, when it opens a directory written before
-- identifiers had one normalization). Keyed hashes only. The identity step
-- joins each pair, so the events stored under the old hash and those stored
-- since under the current one are one person's.

with source as (

    select * from {{ source "identifier_aliases" }}

),

final as (

    select
        identifier_hash,
        identifier_kind,
        canonical_hash,
        canonical_kind
    from source

)

select * from final
