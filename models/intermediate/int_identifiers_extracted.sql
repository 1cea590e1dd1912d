-- config: materialized=ephemeral
--
-- The identifiers each event names, paired with the event's root identifier
-- (the first of its list): the edges the identity step (Go,
-- int_identifiers_resolved) joins into people. One row per identifier and
-- root, with the earliest event naming the pair. Events are deduplicated to
-- their distinct identifier sets first, so the cost follows the number of
-- distinct sets, not of events. An incremental build reads only the new
-- batches.
--
-- An identifier hashed under an older normalization is paired with its
-- current hash (stg_cx__identifier_aliases) when the current hash is named
-- by the events built: one line's events under the old hash and under the
-- new are one person's, and a current hash no event names adds no one.

with events as (

    select * from {{ ref "stg_cx__events" }}
    where batch_id <= {{ .ToBatch }}
    {{- if .Incremental }}
      and batch_id > {{ .FromBatch }}
    {{- end }}

),

identifier_sets as (

    select
        contact_phone_hash,
        contact_email_hash,
        contact_ids_hash,
        link_phone_hash,
        link_email_hash,
        link_ids_hash,
        min(occurred_at) as first_seen_at
    from events
    group by all

),

listed as (

    select
        first_seen_at,
        list_filter(
            [
                {'kind': 'phone', 'value': contact_phone_hash},
                {'kind': 'email', 'value': contact_email_hash},
            ],
            lambda x: x.value is not null
        )
        || coalesce(list_transform(
            map_entries(cast(contact_ids_hash as map(varchar, varchar))),
            lambda e: {'kind': 'id:' || e.key, 'value': e.value}
        ), [])
        || list_filter(
            [
                {'kind': 'phone', 'value': link_phone_hash},
                {'kind': 'email', 'value': link_email_hash},
            ],
            lambda x: x.value is not null
        )
        || coalesce(list_transform(
            map_entries(cast(link_ids_hash as map(varchar, varchar))),
            lambda e: {'kind': 'id:' || e.key, 'value': e.value}
        ), []) as identifiers
    from identifier_sets

),

paired as (

    select
        unnest(identifiers) as identifier,
        identifiers[1] as root,
        first_seen_at
    -- (an empty list unnests to no rows; no filter here, since DuckDB would
    -- push one below the grouping and build every event's list)
    from listed

),

edges as (

    select
        identifier.kind as identifier_kind,
        identifier.value as identifier_hash,
        root.kind as root_kind,
        root.value as root_hash,
        min(first_seen_at) as first_seen_at
    from paired
    where identifier.value <> ''
    group by all

),

aliased as (

    select
        aliases.identifier_kind,
        aliases.identifier_hash,
        aliases.canonical_kind as root_kind,
        aliases.canonical_hash as root_hash,
        min(edges.first_seen_at) as first_seen_at
    from {{ ref "stg_cx__identifier_aliases" }} as aliases
    inner join edges
        on edges.identifier_hash = aliases.canonical_hash
    group by all

),

final as (

    select * from edges
    union all
    select * from aliased

)

select * from final
