-- cxlake gateway, schema version 3: gateway query records the audit chain
-- could not take (docs/gateway.md, "The audit chain"). Never the query
-- text, its values or an error message: who, when, how the query ended, why
-- the record was lost, and a fingerprint of the masked statement (the first
-- 16 hex digits of its sha256, as left(sha256(statement), 16) computes from
-- gateway_queries.statement). The compliance dashboard counts them
-- (marts audit_chain_losses, audit_chain_losses_hourly).

create table if not exists gateway_chain_losses (
    lost_at      timestamptz not null,
    received_at  timestamptz not null,   -- when the gateway received the query
    session_id   bigint      not null,
    user_name    varchar     not null,   -- the gateway login, cut at an '@' as the chain's actor is
    role         varchar     not null,
    outcome      varchar     not null,   -- the query's outcome; started: the record due before it ran (the query was refused)
    reason       varchar     not null,   -- append_failed, refused_by_check
    fingerprint  varchar     not null
);
