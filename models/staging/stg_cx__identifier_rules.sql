-- config: materialized=view
-- test: not_null identifier_hash rule
--
-- One row per identifier rule governance keeps (erasure suppressions,
-- consent-withdrawal pseudonymizations), keyed hashes only. The marts read
-- it to stop showing people who withdrew consent to analytics:
-- pseudonymize_until is the end of a lifted withdrawal (events dated
-- before it stay hidden), null while it is in force.

with source as (

    select * from {{ source "identifier_rules" }}

),

final as (

    select
        identifier_hash,
        rule,
        reason,
        pseudonymize_until
    from source

)

select * from final
