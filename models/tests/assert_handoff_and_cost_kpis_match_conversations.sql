-- Handoff completeness and cost (issue 20): the figures of kpi_daily_team
-- equal the same figures taken directly over the conversations of each UTC
-- day, channel and team, and no cost figure is 0 where nothing is priced
-- (it is null). handoff_completeness runs from 0 to 4. Returns the rows
-- that disagree.

with direct as (

    select
        (opened_at at time zone 'UTC')::date as day,
        channel,
        team_or_none as team,
        count(*) filter (where handoff_completeness = 4)::double / nullif(count(handoff_completeness), 0) as handoff_complete_rate,
        sum(handoff_completeness)::double / nullif(count(handoff_completeness), 0) as handoff_completeness_mean,
        case when count(cost) > 0 then sum(cast(round(cost * 1e6) as bigint)) / 1e6 end as cost_total,
        sum(cast(round(cost * 1e6) as bigint)) filter (where resolved_at is not null)::double
            / nullif(count(cost) filter (where resolved_at is not null), 0) / 1e6 as cost_per_resolved,
        count(cost) filter (where resolved_at is not null and bot_handled and not bot_escalated)::double
            / nullif(count(cost) filter (where resolved_at is not null), 0) as bot_resolved_share
    from conversations
    group by all

),

final as (

    select
        direct.day,
        direct.channel,
        direct.team
    from direct
    left join kpi_daily_team as k
        on k.day = direct.day and k.channel = direct.channel and k.team = direct.team
    where k.day is null
       or direct.handoff_complete_rate is distinct from k.handoff_complete_rate
       or direct.handoff_completeness_mean is distinct from k.handoff_completeness_mean
       or direct.cost_total is distinct from k.cost_total
       or direct.cost_per_resolved is distinct from k.cost_per_resolved
       or direct.bot_resolved_share is distinct from k.bot_resolved_share

    union all

    select
        (opened_at at time zone 'UTC')::date,
        channel,
        team_or_none
    from conversations
    where handoff_completeness not between 0 and 4
       or (handoff_at is null and handoff_completeness is not null)

)

select * from final
