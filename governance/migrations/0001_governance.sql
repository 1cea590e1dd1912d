-- cxlake governance, schema version 1. Keyed hashes only: no raw identifier
-- or text. Documented in docs/governance.md. A released migration never
-- changes: a change to what is stored is a new numbered file (docs/upgrading.md).

-- The latest consent decision per person (contact_key) and purpose: the
-- consent event with the latest occurred_at wins (ties: the greater event_id).
create table if not exists consent_state (
    contact_key     varchar not null,
    purpose         varchar not null,
    granted         boolean not null,
    basis           varchar,
    source          varchar,
    decided_at      timestamptz not null,   -- occurred_at of the deciding consent event
    event_id        varchar not null,       -- the deciding consent event
    enforced_at     timestamptz,            -- when governance last applied it to stored data
    primary key (contact_key, purpose)
);

-- One row per privacy request (erasure, access).
create table if not exists privacy_requests (
    request_id      varchar primary key,
    kind            varchar not null,       -- erasure, access
    status          varchar not null,       -- received, completed, failed
    subject_hash    varchar not null,       -- keyed hash of the identifier named in the request
    identifier_kind varchar not null,       -- phone, email, id:<channel>, contact_key
    reason          varchar,                -- as given (erasure)
    law             varchar not null,       -- the deadline applied: gdpr, lgpd
    received_at     timestamptz not null,
    due_at          timestamptz not null,   -- the legal deadline
    completed_at    timestamptz,
    audit_index     bigint,                 -- the audit record of the outcome
    receipt         json,                   -- the receipt (erasure), no personal data
    error           varchar                 -- why it failed, when it did
);

-- Requests past their deadline: still open, or completed late.
create or replace view privacy_requests_overdue as
select *,
       coalesce(completed_at, now()) - due_at as overdue_by
from privacy_requests
where (completed_at is null and now() > due_at)
   or completed_at > due_at;

-- One row per retention run, data class and place: what was removed, from
-- where, how much.
create table if not exists retention_runs (
    run_id          varchar not null,
    started_at      timestamptz not null,
    finished_at     timestamptz not null,
    as_of           timestamptz not null,   -- the "now" the policy was applied at
    data_class      varchar not null,       -- message_text, raw_events, dead_letters, audit
    policy_days     integer,                -- null: kept forever
    cutoff          timestamptz,            -- data before this was removed
    location        varchar not null,       -- duckdb:events, duckdb:dead_letters, lake, keys, audit
    rows_removed    bigint not null,
    files_removed   integer not null,
    files_rewritten integer not null,
    keys_destroyed  integer not null,
    audit_index     bigint,
    primary key (run_id, data_class, location)
);

-- A mirror of the audit log (the log itself is DATA/audit, verified with
-- cxlake audit verify), for dashboards.
create table if not exists audit_log (
    audit_index     bigint primary key,
    recorded_at     timestamptz not null,
    kind            varchar not null,
    actor           varchar,
    subject         varchar,
    detail          json
);

-- One row per verification of the audit log against its signed checkpoints
-- (Governance.VerifyAudit, on governance's schedule), for the compliance
-- dashboard's audit chain status. No personal data: counts, times, and on
-- failure its class and the first bad record's index.
create table if not exists audit_verifications (
    verified_at     timestamptz not null,
    passed          boolean not null,
    records         bigint,                 -- records in the log, pruned ones included
    pruned          bigint,                 -- records dropped by retention (their hashes remain)
    checkpoints     integer,                -- signed checkpoints verified
    checkpoint_size bigint,                 -- records the latest checkpoint covers
    checkpoint_at   timestamptz,            -- when it was signed
    uncovered       bigint,                 -- records after it, not yet under a signature
    failure         varchar,                -- tampered, checkpoint, no_checkpoint, error; null when passed
    failure_index   bigint                  -- for tampered: the first bad record
);
