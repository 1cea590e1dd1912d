-- config: materialized=view
-- test: unique day purpose granted
-- test: not_null day purpose granted decisions not_enforced
--
-- Consent in force per purpose, by the UTC day it was decided: how many
-- people's current decision for the purpose was made that day, granting or
-- withdrawing, and how many governance has not applied to stored data yet.
-- Summed over all days it is the state now. Counts only: no person. Empty
-- when governance is not configured.

with consents as (

    select * from {{ ref "stg_governance__consent_states" }}

),

final as (

    select
        (decided_at at time zone 'UTC')::date as day,
        purpose,
        granted,
        count(*) as decisions,
        count(*) filter (where enforced_at is null) as not_enforced
    from consents
    group by all

)

select * from final
