-- config: materialized=view
-- test: not_null latest_batch_id batches_behind events_behind
--
-- How current the models are, one row: the last build, what ingest has
-- committed since, and ages computed when queried against the clock (never
-- negative). Empty before the first build has committed.

with builds as (

    select * from {{ ref "stg_models__builds" }}

),

batches as (

    select * from {{ ref "stg_ingest__batches" }}

),

latest as (

    select
        max(batch_id) as latest_batch_id,
        max(committed_at) as latest_committed_at
    from batches

),

final as (

    select
        builds.built_at,
        builds.built_batch_id,
        builds.built_events,
        builds.built_max_event_at,
        coalesce(latest.latest_batch_id, 0) as latest_batch_id,
        latest.latest_committed_at,
        (select count(distinct batch_id) from batches where batch_id > builds.built_batch_id) as batches_behind,
        (select coalesce(sum(accepted), 0)::bigint from batches where batch_id > builds.built_batch_id) as events_behind,
        greatest(epoch(now()) - epoch(builds.built_at), 0) as build_age_s,
        -- An event stamped ahead of the clock (within the allowed skew)
        -- is no younger than now: ages are never negative.
        greatest(epoch(now()) - epoch(builds.built_max_event_at), 0) as data_age_s
    from builds
    cross join latest

)

select * from final
