-- config: materialized=view
-- test: unique hour user_name role outcome
-- test: not_null hour user_name role outcome queries sessions rows_sent duration_ms_total duration_ms_max
--
-- Who queried the warehouse through the SQL gateway: per UTC hour ×
-- gateway login × role × outcome, the queries, sessions, rows sent and
-- time taken. Never a statement. user_name is a gateway login (a staff or
-- service account), not a customer. Empty when the gateway never ran.

with queries as (

    select * from {{ ref "stg_gateway__queries" }}

),

final as (

    select
        date_trunc('hour', received_at at time zone 'UTC') at time zone 'UTC' as hour,
        user_name,
        role,
        outcome,
        count(*) as queries,
        count(distinct session_id) as sessions,
        sum(row_count)::bigint as rows_sent,
        sum(duration_ms) as duration_ms_total,
        max(duration_ms) as duration_ms_max
    from queries
    group by all

)

select * from final
