-- config: materialized=incremental unique_key=day scope=days:day after=conversations
-- test: unique day channel team actor_key
-- test: not_null day channel team actor_key conversations resolved_conversations reply_waits
-- test: not_null agent_frt_s_values agent_frt_us_sum reply_time_s_values reply_time_us_sum resolution_s_values resolution_us_sum
--
-- Per-agent figures (Chatwoot's agent summary), per UTC day × channel ×
-- team × agent, the agent named only by their pseudonymous actor_key.
-- Empty unless models.per_agent is on. A conversation counts on the day it
-- opened, on its channel and team, like every KPI, for each agent who took
-- part in it (any event of theirs); agent FRT for the agent whose reply
-- ended the human wait, resolution time for the agent who resolved it last,
-- and each reply time for the agent whose message ended that wait: the
-- conversation's own figures (int_conversations_aggregated), credited.
-- Each row keeps its parts (the durations as sorted lists, their totals in
-- whole microseconds, the counts) beside the figures, which are
-- models.KPIFigures' expressions over them: summed over any days, the
-- parts give that period's figures exactly, per agent.

with conversations as (

    select * from {{ ref "int_conversations_joined" }}
    where {{ .PerAgent }}
    {{- if .Incremental }}
      and opened_at >= {{ .ScopeDaysFrom }} and opened_at < {{ .ScopeDaysTo }}
      and (opened_at at time zone 'UTC')::date in (select day from {{ scope "days" }})
    {{- end }}

),

agents as (

    select
        *,
        unnest(agent_keys) as actor_key
    from conversations

),

-- one row per conversation and agent, shaped like the KPI base's rows
credits as (

    select
        (opened_at at time zone 'UTC')::date as day,
        channel,
        coalesce(team, 'none') as team,
        actor_key,
        1 as conversations,
        case when resolver_agent_key = actor_key then 1 else 0 end as resolved_conversations,
        case when agent_first_responder_key = actor_key and agent_frt_s is not null then [agent_frt_s] else [] end
            as agent_frt_s_values,
        case when agent_first_responder_key = actor_key then coalesce(cast(round(agent_frt_s * 1e6) as bigint), 0) else 0 end
            as agent_frt_us_sum,
        list_sort(list_transform(list_filter(agent_reply_times, lambda r: r.actor_key = actor_key), lambda r: r.reply_time_s))
            as reply_time_s_values,
        coalesce(list_sum(list_transform(list_filter(agent_reply_times, lambda r: r.actor_key = actor_key),
            lambda r: cast(round(r.reply_time_s * 1e6) as bigint))), 0) as reply_time_us_sum,
        case when resolver_agent_key = actor_key and resolution_s is not null then [resolution_s] else [] end
            as resolution_s_values,
        case when resolver_agent_key = actor_key then coalesce(cast(round(resolution_s * 1e6) as bigint), 0) else 0 end
            as resolution_us_sum
    from agents

),

final as (

    select
        day,
        channel,
        team,
        actor_key,
        {{ kpi_figures_of "conversations" "resolved_conversations" "agent_frt_p50_s" "agent_frt_p90_s" "agent_frt_mean_s" "reply_time_p50_s" "reply_time_p90_s" "reply_time_mean_s" "reply_waits" "resolution_p50_s" "resolution_mean_s" }},
        -- the parts, for exact figures over any period
        list_sort(flatten(list(agent_frt_s_values))) as agent_frt_s_values,
        sum(agent_frt_us_sum)::bigint as agent_frt_us_sum,
        list_sort(flatten(list(reply_time_s_values))) as reply_time_s_values,
        sum(reply_time_us_sum)::bigint as reply_time_us_sum,
        list_sort(flatten(list(resolution_s_values))) as resolution_s_values,
        sum(resolution_us_sum)::bigint as resolution_us_sum
    from credits
    group by day, channel, team, actor_key

)

select * from final
