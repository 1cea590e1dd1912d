-- config: materialized=incremental unique_key=day scope=days:day after=conversations
--
-- The one additive KPI base, one row per UTC day × channel × team ×
-- handled_by: each rate's numerator and denominator as counts, and the FRT,
-- agent FRT and resolution time of every conversation of the row as lists.
-- Sum the counts over any rows and divide, or take quantile_cont over the
-- concatenated lists, and the KPI of that set is exact (models/kpi.go holds
-- those expressions; kpi_daily and kpi_daily_team are them grouped by day
-- and channel, and team). Shown to users as the mart kpi_counts_daily.
--
-- handled_by: 'bot' (a bot took part and no human), 'human' (every other
-- conversation: it reached a human, or no bot took part), 'none' (a survey
-- answered outside any conversation).

with facts as (

    select * from {{ ref "int_kpi_facts_unioned" }}

),

final as (

    select
        day,
        channel,
        team,
        handled_by,
        {{ partial "kpi_counts" }}
    from facts
    group by all

)

select * from final
