-- config: materialized=view
-- test: unique contact_key
-- test: not_null contact_key identifiers first_seen_at conversations
--
-- One row per person (int_contacts_summarized): how many identifiers of each
-- kind, when first seen, and their conversations. Pseudonymous. People whose
-- withdrawal of consent to analytics is in force are left out
-- (int_contacts_withdrawn), at query time: a withdrawal takes effect at
-- enforcement, without a model build. A later grant shows them again.
-- Compliance finds withdrawn people in contact_identities.

with summarized as (

    select * from {{ ref "int_contacts_summarized" }}

),

withdrawn as (

    select * from {{ ref "int_contacts_withdrawn" }}
    where hidden_until = 'infinity'::timestamptz

),

final as (

    select summarized.*
    from summarized
    where not exists (
        select 1 from withdrawn
        where withdrawn.contact_key = summarized.contact_key
    )

)

select * from final
