-- config: materialized=incremental unique_key=contact_key scope=contacts:contact_key
-- test: unique contact_key
-- test: not_null contact_key identifiers first_seen_at conversations
--
-- One row per person (identifiers joined across channels, see
-- int_identifiers_resolved): how many identifiers of each kind, when first
-- seen, and their conversations. Pseudonymous. An identifier stored under an
-- older normalization counts as its current form
-- (stg_cx__identifier_aliases), so one phone stored in two forms is one.
-- Everyone, whatever their consent: the contacts mart is a view over it that
-- leaves out people who withdrew, at query time, so that a withdrawal takes
-- effect without a rebuild.

with identities as (

    select * from {{ ref "int_identifiers_resolved" }}
    {{- if .Incremental }}
    where contact_key in (select contact_key from {{ scope "contacts" }})
    {{- end }}

),

aliases as (

    select * from {{ ref "stg_cx__identifier_aliases" }}

),

current_identities as (

    select
        identities.contact_key,
        coalesce(aliases.canonical_kind, identities.identifier_kind) as identifier_kind,
        coalesce(aliases.canonical_hash, identities.identifier_hash) as identifier_hash,
        identities.first_seen_at
    from identities
    left join aliases
        on aliases.identifier_hash = identities.identifier_hash

),

conversations as (

    select * from {{ ref "int_conversations_aggregated" }}
    {{- if .Incremental }}
    where contact_key in (select contact_key from {{ scope "contacts" }})
    {{- end }}

),

identity_facts as (

    select
        contact_key,
        count(distinct identifier_hash) as identifiers,
        count(distinct identifier_hash) filter (where identifier_kind = 'phone') as phones,
        count(distinct identifier_hash) filter (where identifier_kind = 'email') as emails,
        count(distinct identifier_hash) filter (where identifier_kind like 'id:%') as channel_ids,
        min(first_seen_at) as first_seen_at
    from current_identities
    group by contact_key

),

conversation_facts as (

    select
        contact_key,
        count(*) as conversations,
        count(distinct channel) as channels,
        string_agg(distinct channel, ',' order by channel) as channel_list,
        min(opened_at) as first_conversation_at,
        max(last_event_at) as last_conversation_event_at
    from conversations
    group by contact_key

),

final as (

    select
        identity_facts.contact_key,
        identity_facts.identifiers,
        identity_facts.phones,
        identity_facts.emails,
        identity_facts.channel_ids,
        identity_facts.first_seen_at,
        coalesce(conversation_facts.conversations, 0) as conversations,
        coalesce(conversation_facts.channels, 0) as channels,
        conversation_facts.channel_list,
        conversation_facts.first_conversation_at,
        conversation_facts.last_conversation_event_at
    from identity_facts
    left join conversation_facts
        on conversation_facts.contact_key = identity_facts.contact_key

)

select * from final
