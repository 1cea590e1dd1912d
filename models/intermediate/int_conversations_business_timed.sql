-- config: materialized=incremental unique_key=conversation_id scope=conversations:conversation_id
-- test: unique conversation_id
-- test: not_null conversation_id
--
-- FRT, agent FRT, resolution time and time to handoff in business
-- seconds: the part of each wait that falls
-- inside the conversation's schedule (its team's, else its channel's, else
-- the default one), with each local open interval converted to UTC in the
-- schedule's time zone, so daylight saving time is honoured. A holiday of
-- the schedule (a local date, of one year or every year) is closed all day.
-- Without a schedule, business time is clock time.
--
-- sla_business_due_at: for an unanswered conversation whose channel's SLA
-- runs on business hours (cfg_sla.clock = 'business'), the instant its
-- business time reaches the SLA: walking the schedule's open intervals
-- forward from the first inbound message. It depends on no clock, so it
-- is stored; int_conversations_joined compares it with the build's clock,
-- and the scoping step re-judges a person when the clock passes it. The
-- walk looks ahead one week per week of open time the SLA needs, plus
-- one, plus one per holiday of the schedule (each closes at most a week's
-- open time); a schedule with no open hour has no due instant (null).

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
        agent_frt_s,
        resolved_at,
        resolution_s,
        handoff_at,
        handoff_s
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

sla as (

    select * from {{ source "cfg_sla" }}

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

    union all

    select conversation_id, schedule_key, tz, 'resolution' as measure,
        first_inbound_at as started_at, resolved_at as ended_at
    from scheduled
    where schedule_key is not null and resolution_s >= 0

    union all

    select conversation_id, schedule_key, tz, 'handoff' as measure,
        first_inbound_at as started_at, handoff_at as ended_at
    from scheduled
    where schedule_key is not null and handoff_s is not null

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

pending as (

    select
        scheduled.conversation_id,
        scheduled.schedule_key,
        scheduled.tz,
        scheduled.first_inbound_at,
        cast(round(sla.sla_s * 1e6) as bigint) as sla_us,
        cast(timezone(scheduled.tz, scheduled.first_inbound_at) as date) as first_local_day,
        cast(7 * (ceil(sla.sla_s / weeks.week_s) + 1
            + (select count(*) from holidays where holidays.schedule_key = scheduled.schedule_key)) as integer) as horizon_days
    from scheduled
    join sla
        on sla.channel = scheduled.channel
    join (
        select schedule_key, sum(end_s - start_s) as week_s
        from hours
        group by schedule_key
    ) as weeks
        on weeks.schedule_key = scheduled.schedule_key
    where sla.clock = 'business'
      and scheduled.first_inbound_at is not null
      and scheduled.first_response_at is null
      and weeks.week_s > 0

),

pending_days as (

    select
        pending.*,
        unnest(generate_series(
            first_local_day,
            first_local_day + horizon_days,
            interval 1 day
        )) as local_day
    from pending

),

pending_parts as (

    select
        pending_days.conversation_id,
        pending_days.sla_us,
        greatest(pending_days.first_inbound_at,
            timezone(pending_days.tz, pending_days.local_day + to_seconds(hours.start_s))) as open_from_at,
        epoch_us(timezone(pending_days.tz, pending_days.local_day + to_seconds(hours.end_s)))
            - epoch_us(greatest(pending_days.first_inbound_at,
                timezone(pending_days.tz, pending_days.local_day + to_seconds(hours.start_s)))) as open_us
    from pending_days
    join hours
        on hours.schedule_key = pending_days.schedule_key
        and hours.weekday = dayofweek(pending_days.local_day)
    where not exists (
        select 1 from holidays
        where holidays.schedule_key = pending_days.schedule_key
          and holidays.month = month(pending_days.local_day)
          and holidays.day = day(pending_days.local_day)
          and (holidays.year is null or holidays.year = year(pending_days.local_day))
    )

),

pending_cumulated as (

    select
        pending_parts.*,
        coalesce(sum(open_us) over (
            partition by conversation_id order by open_from_at
            rows between unbounded preceding and 1 preceding
        ), 0) as before_us
    from pending_parts
    where open_us > 0

),

due as (

    select
        conversation_id,
        min(open_from_at + to_microseconds(cast(sla_us - before_us as bigint))) as sla_business_due_at
    from pending_cumulated
    where before_us < sla_us
      and before_us + open_us >= sla_us
    group by conversation_id

),

summed as (

    select
        conversation_id,
        sum(open_us) filter (where measure = 'frt') as frt_open_us,
        sum(open_us) filter (where measure = 'agent_frt') as agent_frt_open_us,
        sum(open_us) filter (where measure = 'resolution') as resolution_open_us,
        sum(open_us) filter (where measure = 'handoff') as handoff_open_us
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
        end as agent_frt_business_s,
        case
            when scheduled.schedule_key is null then scheduled.resolution_s
            when scheduled.resolution_s >= 0 then coalesce(summed.resolution_open_us, 0) / 1e6
        end as resolution_business_s,
        case
            when scheduled.schedule_key is null then scheduled.handoff_s
            when scheduled.handoff_s is not null then coalesce(summed.handoff_open_us, 0) / 1e6
        end as handoff_business_s,
        case
            when sla.clock is distinct from 'business'
                or scheduled.first_inbound_at is null
                or scheduled.first_response_at is not null then null
            when scheduled.schedule_key is null then {{ sla_deadline "scheduled.first_inbound_at" "sla.sla_s" }}
            else due.sla_business_due_at
        end as sla_business_due_at
    from scheduled
    left join summed
        on summed.conversation_id = scheduled.conversation_id
    left join sla
        on sla.channel = scheduled.channel
    left join due
        on due.conversation_id = scheduled.conversation_id

)

select * from final
