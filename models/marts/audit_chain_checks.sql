-- config: materialized=view
-- test: not_null verified_at passed
--
-- The audit chain's status over time: one row per verification of the log
-- against its signed checkpoints, with what the latest checkpoint covered,
-- how old it was, and, on failure, its class and the first bad record's
-- index. Records hold no personal data, and neither does this. Empty when
-- governance is not configured.

with verifications as (

    select * from {{ ref "stg_governance__audit_verifications" }}

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
        epoch(verified_at) - epoch(checkpoint_at) as checkpoint_age_s,
        uncovered,
        failure,
        failure_index
    from verifications

)

select * from final
