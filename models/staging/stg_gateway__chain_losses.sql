-- config: materialized=view
-- test: not_null lost_at received_at user_name role outcome reason fingerprint
--
-- One row per gateway query record the audit chain could not take
-- (gateway_chain_losses): when it was lost, who ran the query (gateway
-- login and role), how the query ended, why its record was lost
-- (append_failed, refused_by_check) and the masked statement's fingerprint
-- (left(sha256(statement), 16) of gateway_queries). Never a statement, a
-- value or an error message. The gateway creates the table when it starts
-- with an audit chain; without it this is empty.

{{- if .Exists "gateway_chain_losses" }}

with source as (

    select * from {{ source "gateway_chain_losses" }}

),

final as (

    select
        lost_at,
        received_at,
        session_id,
        user_name,
        role,
        outcome,
        reason,
        fingerprint
    from source

)

{{- else }}

with final as (

    select
        null::timestamptz as lost_at,
        null::timestamptz as received_at,
        null::bigint as session_id,
        null::varchar as user_name,
        null::varchar as role,
        null::varchar as outcome,
        null::varchar as reason,
        null::varchar as fingerprint
    where false

)

{{- end }}

select * from final
