-- config: materialized=view
-- test: not_null received_at user_name role outcome
--
-- One row per query the SQL gateway audited (gateway_queries), without the
-- statement: who (gateway login and role), which relations, how it ended,
-- how many rows, how long. The gateway creates the table when it starts;
-- without it this is empty (see "Optional sources" in docs/models.md).

{{- if .Exists "gateway_queries" }}

with source as (

    select * from {{ source "gateway_queries" }}

),

final as (

    select
        received_at,
        session_id,
        user_name,
        role,
        relations,
        outcome,
        sqlstate,
        reason as outcome_reason,
        row_count,
        duration_ms
    from source

)

{{- else }}

with final as (

    select
        null::timestamptz as received_at,
        null::bigint as session_id,
        null::varchar as user_name,
        null::varchar as role,
        null::varchar[] as relations,
        null::varchar as outcome,
        null::varchar as sqlstate,
        null::varchar as outcome_reason,
        null::bigint as row_count,
        null::double as duration_ms
    where false

)

{{- end }}

select * from final
