-- config: materialized=temp after=int_conversations_joined
--
-- The facts the KPI marts aggregate, one row per conversation (on the UTC
-- day it opened) plus one per survey answered outside any conversation (on
-- the UTC day it was answered, with the event's channel, or 'none'), with
-- the instant that places it (fact_at: opened_at, or the answer's
-- occurred_at) for the quarter-hour grain.
-- An incremental build reads only the days in scope.

with conversations as (

    select * from {{ ref "int_conversations_joined" }}
    {{- if .Incremental }}
    where opened_at >= {{ .ScopeDaysFrom }} and opened_at < {{ .ScopeDaysTo }}
      and (opened_at at time zone 'UTC')::date in (select day from {{ scope "days" }})
    {{- end }}

),

surveys as (

    select * from {{ ref "stg_cx__events" }}
    where event_type = 'survey'
      and conversation_id is null
      and batch_id <= {{ .ToBatch }}
    {{- if .Incremental }}
      and occurred_at >= {{ .ScopeDaysFrom }} and occurred_at < {{ .ScopeDaysTo }}
      and (occurred_at at time zone 'UTC')::date in (select day from {{ scope "days" }})
    {{- end }}

),

conversation_facts as (

    select
        (opened_at at time zone 'UTC')::date as day,
        opened_at as fact_at,
        channel,
        coalesce(team, 'none') as team,
        true as is_conversation,
        -- 'bot': a bot took part and no human; 'human': every other
        -- conversation (it reached a human, or no bot took part)
        case when bot_handled and not escalated then 'bot' else 'human' end as handled_by,
        frt_s,
        agent_frt_s,
        bot_handled,
        escalated,
        resolved_at is not null as is_resolved,
        first_resolved_at is not null as was_resolved,
        resolution_s,
        reopened,
        fcr,
        recontact_other_channel,
        handoff_at is not null as has_handoff,
        handoff_has_context,
        csat_score,
        nps_score,
        sla_breached,
        reply_time_s_values,
        coalesce(reply_time_us_sum, 0) as reply_time_us_sum,
        resolution_business_s,
        handoff_s,
        handoff_business_s,
        handoff_sla_met,
        handoff_completeness,
        cost,
        repeated_after_handoff,
        repeated_after_switch
    from conversations

),

survey_facts as (

    select
        (occurred_at at time zone 'UTC')::date as day,
        occurred_at as fact_at,
        coalesce(channel, 'none') as channel,
        'none' as team,
        false as is_conversation,
        'none' as handled_by, -- a survey answered outside any conversation
        null::double as frt_s,
        null::double as agent_frt_s,
        false as bot_handled,
        false as escalated,
        false as is_resolved,
        false as was_resolved,
        null::double as resolution_s,
        false as reopened,
        null::boolean as fcr,
        null::boolean as recontact_other_channel,
        false as has_handoff,
        null::boolean as handoff_has_context,
        case when survey_kind = 'csat' then survey_score end as csat_score,
        case when survey_kind = 'nps' then survey_score end as nps_score,
        null::boolean as sla_breached,
        []::double[] as reply_time_s_values,
        0::bigint as reply_time_us_sum,
        null::double as resolution_business_s,
        null::double as handoff_s,
        null::double as handoff_business_s,
        null::boolean as handoff_sla_met,
        null::integer as handoff_completeness,
        null::double as cost,
        null::boolean as repeated_after_handoff,
        null::boolean as repeated_after_switch
    from surveys

),

final as (

    select * from conversation_facts
    union all
    select * from survey_facts

)

select * from final
