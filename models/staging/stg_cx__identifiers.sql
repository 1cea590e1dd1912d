-- config: materialized=view
-- test: not_null event_id identifier_kind identifier_hash
--
-- One row per identifier an accepted event names (its contact and, for
-- identity_link, its link): kind, raw value (PII) and keyed hash, side by
-- side as ingest stored them. Only contact_identities reads it, to show
-- compliance the value behind a hash; no other model reads raw identifiers.

with source as (

    select * from {{ source "events" }}

),

-- Per-channel id maps may hold the object itself or its text as a JSON string.
unwrapped as (

    select
        event_id,
        occurred_at,
        contact_phone,
        contact_phone_hash,
        contact_email,
        contact_email_hash,
        link_phone,
        link_phone_hash,
        link_email,
        link_email_hash,
        case when json_type(contact_ids) = 'VARCHAR' then json(contact_ids ->> '$') else contact_ids end as contact_ids,
        case when json_type(contact_ids_hash) = 'VARCHAR' then json(contact_ids_hash ->> '$') else contact_ids_hash end as contact_ids_hash,
        case when json_type(link_ids) = 'VARCHAR' then json(link_ids ->> '$') else link_ids end as link_ids,
        case when json_type(link_ids_hash) = 'VARCHAR' then json(link_ids_hash ->> '$') else link_ids_hash end as link_ids_hash
    from source

),

listed as (

    select
        event_id,
        occurred_at,
        [
            {'kind': 'phone', 'value': contact_phone, 'hash': contact_phone_hash},
            {'kind': 'email', 'value': contact_email, 'hash': contact_email_hash},
            {'kind': 'phone', 'value': link_phone, 'hash': link_phone_hash},
            {'kind': 'email', 'value': link_email, 'hash': link_email_hash},
        ]
        || coalesce(list_transform(
            map_entries(cast(contact_ids as map(varchar, varchar))),
            e -> {'kind': 'id:' || e.key, 'value': e.value, 'hash': contact_ids_hash ->> e.key}
        ), [])
        || coalesce(list_transform(
            map_entries(cast(link_ids as map(varchar, varchar))),
            e -> {'kind': 'id:' || e.key, 'value': e.value, 'hash': link_ids_hash ->> e.key}
        ), []) as identifiers
    from unwrapped

),

final as (

    select
        event_id,
        occurred_at,
        identifier.kind as identifier_kind,
        identifier.value as identifier_value,
        identifier.hash as identifier_hash
    from (select event_id, occurred_at, unnest(identifiers) as identifier from listed)
    where identifier.hash is not null

)

select * from final
