-- config: materialized=view
--
-- The shared identifiers: each identifier other than an e-mail (a phone, a
-- per-channel id) that events name together with two or more different
-- e-mails, such as a family phone or a shop's line. One row per such
-- identifier, with how many e-mails it links and when it was first and
-- last named. The one place of the rule for SQL (governance/shared.go
-- applies it to one person's events for exports and erasure). A view over
-- the events: always current, at the cost of a pass over their identifier
-- columns (deduplicated to distinct identifier sets first).

with events as (

    select * from {{ ref "stg_cx__events" }}

),

identifier_sets as (

    select
        contact_phone_hash,
        contact_email_hash,
        contact_ids_hash,
        link_phone_hash,
        link_email_hash,
        link_ids_hash,
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at
    from events
    group by all

),

listed as (

    select
        list_filter([contact_email_hash, link_email_hash], lambda x: x is not null) as emails,
        list_filter(
            [
                {'kind': 'phone', 'value': contact_phone_hash},
                {'kind': 'phone', 'value': link_phone_hash},
            ],
            lambda x: x.value is not null
        )
        || coalesce(list_transform(
            map_entries(cast(contact_ids_hash as map(varchar, varchar))),
            lambda e: {'kind': 'id:' || e.key, 'value': e.value}
        ), [])
        || coalesce(list_transform(
            map_entries(cast(link_ids_hash as map(varchar, varchar))),
            lambda e: {'kind': 'id:' || e.key, 'value': e.value}
        ), []) as others,
        first_seen_at,
        last_seen_at
    from identifier_sets

),

others as (

    select
        unnest(others) as other,
        emails,
        first_seen_at,
        last_seen_at
    from listed

),

pairs as (

    select
        other.kind as identifier_kind,
        other.value as identifier_hash,
        unnest(emails) as email_hash,
        first_seen_at,
        last_seen_at
    from others

),

shared as (

    select
        identifier_kind,
        identifier_hash,
        count(distinct email_hash) as emails,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at
    from pairs
    group by identifier_kind, identifier_hash
    having count(distinct email_hash) >= 2

),

final as (

    select * from shared

)

select * from final
