-- config: materialized=view
-- test: unique channel
-- test: not_null channel sla_s sla_clock
-- test: accepted_values sla_clock clock,business
--
-- One row per channel with an SLA: its expected first response time and the
-- clock it runs on ('clock': elapsed time; 'business': business hours of
-- each conversation's schedule, holidays excluded), as configured
-- (models.sla, models.sla_clock). The report and the dashboards read it to
-- say which clock each SLA breach rate was measured on. Configuration only:
-- no conversation, no person.

with sla as (

    select * from {{ ref "stg_models__slas" }}

),

final as (

    select
        channel,
        sla_s,
        sla_clock
    from sla

)

select * from final
