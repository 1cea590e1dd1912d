-- cxlake gateway, schema version 2: failed and throttled logins of the SQL
-- gateway (docs/gateway.md, "Authentication"). Never the password; an unknown
-- login name is recorded as "(unknown)".

create table if not exists gateway_logins (
    attempted_at   timestamptz not null,
    user_name      varchar     not null,
    source_address varchar     not null,
    outcome        varchar     not null,   -- failed, throttled
    reason         varchar     not null
);
