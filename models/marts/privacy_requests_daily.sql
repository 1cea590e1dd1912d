-- config: materialized=view
-- test: unique day kind law status
-- test: not_null day kind law status requests failed completed_on_time completed_late open_within_deadline open_overdue open_due_within_7d
--
-- Privacy requests (erasure, access) per UTC day received × kind × law ×
-- status, against their legal deadlines: completed on time or late, still
-- open within the deadline, due within 7 days, or overdue (measured when
-- queried), and how long completed ones took. A failed request (an erasure
-- whose re-scan still finds the person) is never counted completed: it
-- counts as failed, and stays open against its deadline until someone
-- acts. Counts only: no request id, no subject. Empty when governance is
-- not configured.

with requests as (

    select * from {{ ref "stg_governance__privacy_requests" }}

),

timed as (

    select
        *,
        epoch(completed_at) - epoch(received_at) as completion_s
    from requests

),

final as (

    select
        (received_at at time zone 'UTC')::date as day,
        kind,
        law,
        status,
        count(*) as requests,
        count(*) filter (where status <> 'failed' and completed_at <= due_at) as completed_on_time,
        count(*) filter (where status <> 'failed' and completed_at > due_at) as completed_late,
        count(*) filter (where status = 'failed') as failed,
        count(*) filter (where completed_at is null and now() <= due_at) as open_within_deadline,
        count(*) filter (where completed_at is null and now() > due_at) as open_overdue,
        count(*) filter (where completed_at is null and now() <= due_at and due_at <= now() + interval 7 day) as open_due_within_7d,
        min(due_at) filter (where completed_at is null) as next_due_at,
        sum(completion_s) as completion_s_total,
        quantile_cont(completion_s, 0.5) as completion_p50_s,
        quantile_cont(completion_s, 0.9) as completion_p90_s,
        max(completion_s) as completion_max_s
    from timed
    group by all

)

select * from final
