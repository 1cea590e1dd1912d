-- config: materialized=view
-- test: unique kind
-- test: not_null kind shared people most_linked last_seen_at
--
-- Shared identifiers (int_identifiers_shared) per kind: how many, how many
-- people they join, the most e-mails one of them links, and when one was
-- last named. Counts only: no person, no identifier. The compliance
-- dashboard's panel.

with shared as (

    select * from {{ ref "int_identifiers_shared" }}

),

resolved as (

    select * from {{ ref "int_identifiers_resolved" }}

),

final as (

    select
        shared.identifier_kind as kind,
        count(*) as shared,
        count(distinct resolved.contact_key) as people,
        max(shared.emails) as most_linked,
        max(shared.last_seen_at) as last_seen_at
    from shared
    inner join resolved
        on resolved.identifier_hash = shared.identifier_hash
    group by shared.identifier_kind

)

select * from final
