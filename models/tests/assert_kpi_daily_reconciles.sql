-- kpi_daily counts every conversation once, on the UTC day it opened, and
-- every survey answer once: on its conversation's day and channel, or on
-- the day it was answered when outside a conversation. kpi_daily_team adds
-- up to kpi_daily. Returns the day and channel rows that disagree.

with built as (

    select built_batch_id from models_state where id = 1

),

from_conversations as (

    select
        (opened_at at time zone 'UTC')::date as day,
        channel,
        count(*) as conversations,
        count(csat_score) as csat_responses,
        count(nps_score) as nps_responses
    from conversations
    group by all

),

from_surveys as (

    select
        (occurred_at at time zone 'UTC')::date as day,
        coalesce(channel, 'none') as channel,
        0 as conversations,
        count(*) filter (where survey_kind = 'csat') as csat_responses,
        count(*) filter (where survey_kind = 'nps') as nps_responses
    from events
    where type = 'survey'
      and conversation_id is null
      and batch_id <= (select built_batch_id from built)
    group by all

),

expected as (

    select
        day,
        channel,
        sum(conversations) as conversations,
        sum(csat_responses) as csat_responses,
        sum(nps_responses) as nps_responses
    from (select * from from_conversations union all select * from from_surveys)
    group by all

),

by_team as (

    select
        day,
        channel,
        sum(conversations) as conversations,
        sum(csat_responses) as csat_responses,
        sum(nps_responses) as nps_responses
    from kpi_daily_team
    group by all

),

final as (

    select
        coalesce(expected.day, kpi_daily.day, by_team.day) as day,
        coalesce(expected.channel, kpi_daily.channel, by_team.channel) as channel
    from expected
    full join kpi_daily
        on kpi_daily.day = expected.day and kpi_daily.channel = expected.channel
    full join by_team
        on by_team.day = coalesce(expected.day, kpi_daily.day)
        and by_team.channel = coalesce(expected.channel, kpi_daily.channel)
    where expected.conversations is distinct from kpi_daily.conversations
       or expected.csat_responses is distinct from kpi_daily.csat_responses
       or expected.nps_responses is distinct from kpi_daily.nps_responses
       or by_team.conversations is distinct from kpi_daily.conversations
       or by_team.csat_responses is distinct from kpi_daily.csat_responses
       or by_team.nps_responses is distinct from kpi_daily.nps_responses

)

select * from final
