-- contact_key and identifier_hash are keyed hashes, never an identifier:
-- no contact_key or identifier_hash equals any identifier value. Returns
-- the offending rows' kinds.

with identities as (

    select * from contact_identities

),

final as (

    select identities.identifier_kind
    from identities
    where identities.identifier_hash = identities.identifier_value
       or identities.contact_key in (select identifier_value from identities)
       or identities.identifier_hash in (select identifier_value from identities)

)

select * from final
