-- config: materialized=incremental unique_key=day scope=days:day after=conversations
-- test: unique day channel team
-- test: not_null day channel team conversations csat_responses nps_responses
--
-- The service KPIs per day × channel × team, as defined in docs/models.md
-- ("KPI definitions"): the KPI expressions of models/kpi.go over the
-- additive base (kpi_counts_daily), grouped. team is 'none' for
-- conversations no team handled and for surveys answered outside a
-- conversation. Rates are fractions from 0 to 1
-- over the eligible conversations and null when none is eligible;
-- percentiles are continuous and exact.

with parts as (

    select * from {{ ref "int_kpi_counts_aggregated" }}
    {{- if .Incremental }}
    where day in (select day from {{ scope "days" }})
    {{- end }}

),

final as (

    select
        day, channel, team,
        {{ kpi_figures }},
        -- deprecated alias of csat_share, removed in the release after next
        csat_share as csat
    from parts
    group by day, channel, team

)

select * from final
