-- config: materialized=view
-- test: unique request_id
-- test: not_null request_id kind status law received_at due_at
--
-- One row per privacy request (governance's privacy_requests), without the
-- subject's hash, the reason given or the error text. Governance creates
-- the table; in a warehouse without it this is an empty relation with the
-- same columns (see "Optional sources" in docs/models.md).

{{- if .Exists "privacy_requests" }}

with source as (

    select * from {{ source "privacy_requests" }}

),

final as (

    select
        request_id,
        kind,
        status,
        law,
        identifier_kind,
        received_at,
        due_at,
        completed_at
    from source

)

{{- else }}

with final as (

    select
        null::varchar as request_id,
        null::varchar as kind,
        null::varchar as status,
        null::varchar as law,
        null::varchar as identifier_kind,
        null::timestamptz as received_at,
        null::timestamptz as due_at,
        null::timestamptz as completed_at
    where false

)

{{- end }}

select * from final
