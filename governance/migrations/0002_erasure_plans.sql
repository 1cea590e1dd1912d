-- cxlake governance, schema version 2: the plan of each erasure not yet done
-- (Governance.Erase, docs/governance.md), written with its privacy request
-- before the first destructive step and updated after each step: the
-- person's keyed hashes, the dead letters and lake partitions to clear, the
-- last step done and the receipt so far. Keyed hashes, Kafka coordinates and
-- file names only. A start-up resumes every row; a done erasure's row is
-- deleted with the request's completion.
--
-- privacy_requests.status now also takes in_progress and no_data, and
-- completed_at stays null for a failed request (values only: no DDL).

create table if not exists erasure_plans (
    request_id      varchar primary key,
    step            varchar not null,
    plan            json not null,
    updated_at      timestamptz not null
);
