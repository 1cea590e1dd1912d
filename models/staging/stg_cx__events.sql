-- config: materialized=view
-- test: unique event_id
-- test: not_null event_id event_type occurred_at contact_kind contact_hash batch_id
--
-- One row per accepted event of the raw events table: renamed, typed and
-- normalised, nothing joined or aggregated. Identifiers appear only as their
-- keyed hashes: contact_kind/contact_hash name the event's primary
-- identifier (phone, else email, else its first per-channel id), the one it
-- is attributed to a person by. An agent appears only as their
-- pseudonymous actor_key, and only when per-agent figures are on.

with source as (

    select * from {{ source "events" }}

),

-- JSON columns may hold the object itself or the object's text as a JSON
-- string (written that way by some ingest sinks); both become the object.
unwrapped as (

    select
        * replace (
            case when json_type(contact_ids_hash) = 'VARCHAR' then json(contact_ids_hash ->> '$') else contact_ids_hash end as contact_ids_hash,
            case when json_type(link_ids_hash) = 'VARCHAR' then json(link_ids_hash ->> '$') else link_ids_hash end as link_ids_hash
        )
    from source

),

renamed as (

    select
        event_id,
        type as event_type,
        occurred_at,
        source as event_source,
        channel,
        conversation_id,
        batch_id,

        -- identifiers, as keyed hashes (never the raw values)
        contact_phone_hash,
        contact_email_hash,
        contact_ids_hash,
        link_phone_hash,
        link_email_hash,
        link_ids_hash,
        case
            when contact_phone_hash is not null then 'phone'
            when contact_email_hash is not null then 'email'
            else 'id:' || map_entries(cast(contact_ids_hash as map(varchar, varchar)))[1].key
        end as contact_kind,
        case
            when contact_phone_hash is not null then contact_phone_hash
            when contact_email_hash is not null then contact_email_hash
            else map_entries(cast(contact_ids_hash as map(varchar, varchar)))[1].value
        end as contact_hash,

        nullif(actor_kind, '') as actor_kind,
        nullif(actor_id, '') as actor_id,
        nullif(actor_team, '') as actor_team,
        -- the agent's or bot's pseudonymous key; with models.per_agent off
        -- (the default) no model sees it, so no figure is kept per agent
        {{ if .PerAgent }}nullif(actor_key, ''){{ else }}null::varchar{{ end }} as actor_key,

        message_direction,
        coalesce(message_private, false) as is_private_message,
        message_intent,
        type = 'message' and message_direction = 'inbound' as is_inbound_message,
        type = 'message' and message_direction = 'outbound'
            and not coalesce(message_private, false) as is_public_outbound_message,

        nullif(handoff_to_team, '') as handoff_to_team,
        -- computed at ingest (the summary and fields themselves are sealed)
        case when type = 'handoff' then coalesce(handoff_has_context, false) end as handoff_has_context,
        case when type = 'handoff' then handoff_sla_s end as handoff_sla_s,
        -- which of the four items of a good handoff it carried, one bit
        -- each (event.Handoff.Items, computed at ingest): 1 summary, 2
        -- fields, 4 next action, 8 owner with a positive SLA; null for a
        -- handoff stored before schema version 8
        case when type = 'handoff' then handoff_items end as handoff_items,

        survey_kind,
        survey_score,

        consent_purpose,
        consent_granted

    from unwrapped

),

final as (

    select * from renamed

)

select * from final
