-- config: materialized=view
-- test: unique channel
-- test: not_null channel sla_s sla_clock
--
-- The channels' SLAs as configured (cfg_sla, written from models.sla and
-- models.sla_clock at every build), renamed.

with source as (

    select * from {{ source "cfg_sla" }}

),

final as (

    select
        channel,
        sla_s,
        clock as sla_clock
    from source

)

select * from final
