-- config: materialized=view
-- test: unique identifier_hash
-- test: not_null contact_key identifier_kind identifier_hash emails first_seen_at last_seen_at
--
-- One row per shared identifier (int_identifiers_shared: named together
-- with two or more e-mails, e.g. a family phone or a shop's line) with the
-- person (contact_key) it belongs to: identity resolution joins everything
-- one identifier names, so that person may be several people. For
-- compliance, before answering an access or erasure request for them: an
-- export answers with what the requested identifier proves, and an erasure
-- asks for --include-linked (docs/governance.md, "Shared identifiers").
-- Names are sealed and never hashed, so two names on one phone are not
-- seen; two e-mails are. Identifiers not yet resolved by a build are left
-- out until the next one.

with shared as (

    select * from {{ ref "int_identifiers_shared" }}

),

resolved as (

    select * from {{ ref "int_identifiers_resolved" }}

),

final as (

    select
        resolved.contact_key,
        shared.identifier_kind,
        shared.identifier_hash,
        shared.emails,
        shared.first_seen_at,
        shared.last_seen_at
    from shared
    inner join resolved
        on resolved.identifier_hash = shared.identifier_hash

)

select * from final
