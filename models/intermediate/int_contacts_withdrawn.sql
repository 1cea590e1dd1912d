-- config: materialized=view
-- test: unique contact_key
-- test: not_null contact_key hidden_until
--
-- One row per person who withdrew consent to analytics: the one place the
-- analyst-facing marts (timeline, contacts) and contact_identities learn it
-- from. A person is withdrawn when any of their identifiers has the
-- pseudonymize rule (stg_cx__identifier_rules). hidden_until is 'infinity'
-- while the withdrawal is in force; after a later grant lifted it, the
-- grant's time (events dated before it stay hidden, judged by event time,
-- like ingest). A view over the rules, which governance changes at
-- enforcement, so a withdrawal shows here at once, without a model build.

with resolved as (

    select * from {{ ref "int_identifiers_resolved" }}

),

rules as (

    select * from {{ ref "stg_cx__identifier_rules" }}
    where rule = 'pseudonymize'

),

final as (

    select
        resolved.contact_key,
        max(coalesce(rules.pseudonymize_until, 'infinity'::timestamptz)) as hidden_until
    from resolved
    inner join rules
        on rules.identifier_hash = resolved.identifier_hash
    group by resolved.contact_key

)

select * from final
