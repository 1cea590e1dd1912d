-- config: materialized=view
-- test: unique run_id data_class location
-- test: not_null run_id started_at finished_at data_class location rows_removed
--
-- One row per retention run, data class and place (governance's
-- retention_runs), renamed. Empty when governance is not configured (see
-- "Optional sources" in docs/models.md).

{{- if .Exists "retention_runs" }}

with source as (

    select * from {{ source "retention_runs" }}

),

final as (

    select
        run_id,
        started_at,
        finished_at,
        as_of,
        data_class,
        policy_days,
        cutoff as cutoff_at,
        location,
        rows_removed,
        files_removed,
        files_rewritten,
        keys_destroyed
    from source

)

{{- else }}

with final as (

    select
        null::varchar as run_id,
        null::timestamptz as started_at,
        null::timestamptz as finished_at,
        null::timestamptz as as_of,
        null::varchar as data_class,
        null::integer as policy_days,
        null::timestamptz as cutoff_at,
        null::varchar as location,
        null::bigint as rows_removed,
        null::integer as files_removed,
        null::integer as files_rewritten,
        null::integer as keys_destroyed
    where false

)

{{- end }}

select * from final
