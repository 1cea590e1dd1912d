-- cxlake gateway, schema version 1: the query audit the gateway appends to
-- (docs/gateway.md lists the columns). A released migration never changes: a
-- change to what is stored is a new numbered file (docs/upgrading.md).

create table if not exists gateway_queries (
    received_at  timestamptz not null,
    session_id   bigint      not null,
    user_name    varchar     not null,
    role         varchar     not null,
    statement    varchar     not null,   -- the query with its constants masked
    relations    varchar[]   not null,
    outcome      varchar     not null,
    sqlstate     varchar     not null,
    reason       varchar,
    row_count    bigint      not null,
    duration_ms  double      not null
);
