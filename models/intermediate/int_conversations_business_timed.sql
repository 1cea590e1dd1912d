-- config: materialized=incremental unique_key=conversation_id scope=conversations:conversation_id
-- test: unique conversation_id
-- test: not_null conversation_id
--
-- FRT and agent FRT in business seconds: the part of each wait that falls
-- inside the conversation's schedule (its team's, else its channel's, else
-- the default one), with each local open interval converted to UTC in the
-- schedule's time zone, so daylight saving time is honoured. A holiday of
-- the schedule (a local date, of one year or every year) is closed all day.
-- Without a schedule, business time is clock time.

with conversations as (

    select
        conversation_id,
        channel,
        team,
        first_inbound_at,
        first_response_at,
        frt_s,
        human_wait_started_at,
        agent_first_response_at,
        agent_frt_s
    from {{ ref "int_conversations_aggregated" }}
    {{- if .Incremental }}
    where conversation_id in (select conversation_id from {{ scope "conversations" }})
    {{- end }}

),

schedules as (

    select * from {{ source "cfg_schedules" }}

),

hours as (

    select * from {{ source "cfg_business_hours" }}

),

holidays as (

    select * from {{ source "cfg_holidays" }}

),

scheduled as (

    select
        conversations.*,
        coalesce(team_schedule.schedule_key, channel_schedule.schedule_key, default_schedule.schedule_key) as schedule_key,
        coalesce(team_schedule.tz, channel_schedule.tz, default_schedule.tz) as tz
    from conversations
    left join schedules as team_schedule
        on team_schedule.schedule_key = 'team:' || conversations.team
    left join schedules as channel_schedule
        on channel_schedule.schedule_key = 'channel:' || conversations.channel
    left join schedules as default_schedule
        on default_schedule.schedule_key = 'default'

),

waits as (

    select conversation_id, schedule_key, tz, 'frt' as measure,
        first_inbound_at as started_at, first_response_at as ended_at
    from scheduled
    where schedule_key is not null and first_response_at is not null

    union all

    select conversation_id, schedule_key, tz, 'agent_frt' as measure,
        human_wait_started_at as started_at, agent_first_response_at as ended_at
    from scheduled
    where schedule_key is not null and agent_first_response_at is not null

),

local_days as (

    select
        waits.*,
        unnest(generate_series(
            cast(timezone(tz, started_at) as date),
            cast(timezone(tz, ended_at) as date),
            interval 1 day
        )) as local_day
    from waits

),

open_parts as (

    select
        local_days.conversation_id,
        local_days.measure,
        greatest(0,
            epoch_us(least(local_days.ended_at,
                timezone(local_days.tz, local_days.local_day + to_seconds(hours.end_s))))
            - epoch_us(greatest(local_days.started_at,
                timezone(local_days.tz, local_days.local_day + to_seconds(hours.start_s))))
        ) as open_us
    from local_days
    join hours
        on hours.schedule_key = local_days.schedule_key
        and hours.weekday = dayofweek(local_days.local_day)
    where not exists (
        select 1 from holidays
        where holidays.schedule_key = local_days.schedule_key
          and holidays.month = month(local_days.local_day)
          and holidays.day = day(local_days.local_day)
          and (holidays.year is null or holidays.year = year(local_days.local_day))
    )

),

summed as (

    select
        conversation_id,
        sum(open_us) filter (where measure = 'frt') as frt_open_us,
        sum(open_us) filter (where measure = 'agent_frt') as agent_frt_open_us
    from open_parts
    group by conversation_id

),

final as (

    select
        scheduled.conversation_id,
        scheduled.schedule_key,
        case
            when scheduled.schedule_key is null then scheduled.frt_s
            when scheduled.first_response_at is not null then coalesce(summed.frt_open_us, 0) / 1e6
        end as frt_business_s,
        case
            when scheduled.schedule_key is null then scheduled.agent_frt_s
            when scheduled.agent_first_response_at is not null then coalesce(summed.agent_frt_open_us, 0) / 1e6
        end as agent_frt_business_s
    from scheduled
    left join summed
        on summed.conversation_id = scheduled.conversation_id

)

select * from final
