-- config: materialized=view
-- test: not_null verified_at passed
--
-- One row per verification of the audit chain (audit_verifications, which
-- governance writes each time it verifies the log against its signed
-- checkpoints), renamed. Empty when governance is not configured (see
-- "Optional sources" in docs/models.md).

{{- if .Exists "audit_verifications" }}

with source as (

    select * from {{ source "audit_verifications" }}

),

final as (

    select
        verified_at,
        passed,
        records,
        pruned,
        checkpoints,
        checkpoint_size,
        checkpoint_at,
        uncovered,
        failure,
        failure_index
    from source

)

{{- else }}

with final as (

    select
        null::timestamptz as verified_at,
        null::boolean as passed,
        null::bigint as records,
        null::bigint as pruned,
        null::integer as checkpoints,
        null::bigint as checkpoint_size,
        null::timestamptz as checkpoint_at,
        null::bigint as uncovered,
        null::varchar as failure,
        null::bigint as failure_index
    where false

)

{{- end }}

select * from final
