-- config: materialized=view
-- test: unique hour user_name role relation
-- test: not_null hour user_name role relation queries refused
--
-- Who read what through the SQL gateway: per UTC hour × gateway login ×
-- role × relation referenced, the queries and how many were refused.
-- Relation names only, never a statement. Empty when the gateway never ran.

with queries as (

    select * from {{ ref "stg_gateway__queries" }}

),

referenced as (

    select
        received_at,
        user_name,
        role,
        outcome,
        unnest(relations) as relation
    from queries

),

final as (

    select
        date_trunc('hour', received_at at time zone 'UTC') at time zone 'UTC' as hour,
        user_name,
        role,
        relation,
        count(*) as queries,
        count(*) filter (where outcome = 'refused') as refused
    from referenced
    group by all

)

select * from final
