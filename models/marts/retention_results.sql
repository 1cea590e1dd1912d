-- config: materialized=view
-- test: unique run_id data_class location
-- test: not_null run_id started_at data_class location rows_removed took_s
--
-- What each retention run removed, per data class and place: the proof
-- that retention ran. One row per run × data class × location. No personal
-- data: classes, places, cut-offs and counts. Empty when governance is not
-- configured.

with runs as (

    select * from {{ ref "stg_governance__retention_runs" }}

),

final as (

    select
        run_id,
        started_at,
        finished_at,
        epoch(finished_at) - epoch(started_at) as took_s,
        as_of,
        data_class,
        policy_days,
        cutoff_at,
        location,
        rows_removed,
        files_removed,
        files_rewritten,
        keys_destroyed
    from runs

)

select * from final
