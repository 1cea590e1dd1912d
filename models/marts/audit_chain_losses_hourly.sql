-- config: materialized=view
-- test: unique hour user_name role outcome reason
-- test: not_null hour user_name role outcome reason records statements
--
-- Gateway query records the audit chain could not take, per UTC hour ×
-- gateway login × role × query outcome × reason: how many records were
-- lost and how many distinct (masked) statements they recorded. The
-- chain's promise is that every gateway query is in it; a row here is a
-- query that is not, and the compliance dashboard shows it. Never a
-- statement. user_name is a gateway login (a staff or service account),
-- not a customer. Empty while nothing was lost.

with losses as (

    select * from {{ ref "stg_gateway__chain_losses" }}

),

final as (

    select
        date_trunc('hour', lost_at at time zone 'UTC') at time zone 'UTC' as hour,
        user_name,
        role,
        outcome,
        reason,
        count(*) as records,
        count(distinct fingerprint) as statements
    from losses
    group by all

)

select * from final
