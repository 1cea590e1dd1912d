-- config: materialized=view
-- test: not_null contact_key event_id occurred_at event_type
--
-- Every event of a person across all channels, in time order (contact_key,
-- occurred_at, event_id). Pseudonymous: no identifier, no free text. A view
-- over the events and the latest identity resolution, so it is always
-- current and costs nothing to refresh; filter it by contact_key. People
-- who withdrew consent to analytics are left out.

with events as (

    select * from {{ ref "int_events_attributed" }}

),

-- People who withdrew consent to analytics: their journey is not shown
-- (their events still count in the KPIs).
withdrawn as (

    select distinct resolved.contact_key
    from {{ ref "int_identifiers_resolved" }} as resolved
    inner join {{ ref "stg_cx__identifier_rules" }} as rules
        on rules.identifier_hash = resolved.identifier_hash
    where rules.rule = 'pseudonymize'

),

final as (

    select
        contact_key,
        occurred_at,
        event_id,
        event_type,
        channel,
        conversation_id,
        actor_kind,
        actor_id,
        actor_team,
        message_direction,
        is_private_message,
        message_intent,
        handoff_to_team,
        handoff_has_context,
        survey_kind,
        survey_score,
        consent_purpose,
        consent_granted,
        event_source
    from events
    where contact_key not in (select contact_key from withdrawn)
    order by contact_key, occurred_at, event_id

)

select * from final
