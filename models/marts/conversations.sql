-- config: materialized=view
-- test: unique conversation_id
-- test: not_null conversation_id contact_key channel team_or_none opened_at bot_handled bot_escalated escalated reopened event_count
-- test: accepted_values channel whatsapp,instagram,telegram,messenger,webchat,email,sms,voice,app,none
-- test: relationships contact_key int_contacts_summarized.contact_key
--
-- One row per conversation, with its FRT, handoff, resolution, FCR, survey
-- and SLA facts. Pseudonymous: contact_key, never an identifier or text.
-- A view over int_conversations_joined, which holds the rows.
--
-- Names say what they hold (issue 29 item 8, docs/models.md "Renamed
-- columns"): bot_escalated (true only when a bot took part) and
-- recontact_any_channel_at (a return on any channel, where
-- recontact_other_channel counts other channels only). The old names,
-- escalated and recontact_at, stay as deprecated aliases for one release,
-- last in the row so that no column moves. team is null when no team
-- handled the conversation; team_or_none is 'none' then, the KPI marts'
-- group label, to join or compare with them.

with conversations as (

    select * from {{ ref "int_conversations_joined" }}

),

final as (

    select
        conversation_id,
        contact_key,
        channel,
        team,
        opened_at,
        first_inbound_at,
        first_response_at,
        frt_s,
        agent_frt_s,
        frt_business_s,
        agent_frt_business_s,
        bot_handled,
        escalated as bot_escalated,
        handoff_at,
        handoff_has_context,
        resolved_at,
        resolution_s,
        reopened,
        fcr,
        recontact_other_channel,
        csat_score,
        nps_score,
        sla_breached,
        -- more than the contract asks for
        first_resolved_at,
        agent_first_response_at,
        human_wait_started_at,
        recontact_at as recontact_any_channel_at,
        sla_s,
        sla_clock,
        schedule_key,
        last_event_at,
        event_count,
        message_count,
        inbound_message_count,
        bot_message_count,
        agent_message_count,
        reply_waits,
        reply_time_p50_s,
        reply_time_p90_s,
        reply_time_mean_s,
        reply_time_s_values,
        resolution_business_s,
        handoff_s,
        handoff_business_s,
        handoff_sla_s,
        handoff_sla_met,
        handoff_completeness,
        cost,
        frt_since_last_handoff_s,
        repeated_after_handoff,
        repeated_after_switch,
        coalesce(team, 'none') as team_or_none,
        -- deprecated aliases, removed in the release after next
        escalated,
        recontact_at
    from conversations

)

select * from final
