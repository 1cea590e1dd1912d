-- config: materialized=view
-- test: not_null contact_key event_id occurred_at event_type
--
-- Every event of a person across all channels, in time order (contact_key,
-- occurred_at, event_id). Pseudonymous: no identifier, no free text. A view
-- over the events and the latest identity resolution, so it is always
-- current and costs nothing to refresh; filter it by contact_key. People
-- who withdrew consent to analytics are left out (after a re-grant, their
-- events dated before it).

with events as (

    select * from {{ ref "int_events_attributed" }}

),

-- People who withdrew consent to analytics: their journey is not shown
-- (their events still count in the KPIs). A withdrawal lifted by a later
-- grant still hides the events dated before the grant.
withdrawn as (

    select * from {{ ref "int_contacts_withdrawn" }}

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
    where not exists (
        select 1 from withdrawn
        where withdrawn.contact_key = events.contact_key
          and events.occurred_at < withdrawn.hidden_until
    )
    order by contact_key, occurred_at, event_id

)

select * from final
