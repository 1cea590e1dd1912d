-- cxlake warehouse: raw layer. These tables are written by ingest only.
-- Column documentation lives in docs/tables.md; PII columns are marked there.

create sequence if not exists ingest_batch_seq start 1;

-- One row per accepted cx.event/v1 event. event_id is the idempotency key:
-- the writer skips ids already stored (see seen.go; a primary key here costs
-- more than the whole ingest budget), and the data tests check uniqueness.
create table if not exists events (
    event_id            varchar not null,
    type                varchar not null,
    occurred_at         timestamptz not null,   -- stored in UTC
    source              varchar,
    channel             varchar,
    conversation_id     varchar,
    contact_phone       varchar,                -- PII, E.164
    contact_email       varchar,                -- PII, trimmed lower case
    contact_ids         json,                   -- PII, {"instagram": "ana.s", ...}
    contact_name        varchar,                -- PII
    actor_kind          varchar,
    actor_id            varchar,
    actor_team          varchar,
    message_direction   varchar,
    message_text        varchar,                -- PII (free text)
    message_private     boolean,
    message_intent      varchar,
    handoff_reason      varchar,
    handoff_to_team     varchar,
    handoff_summary     varchar,                -- PII (free text)
    handoff_fields      json,                   -- PII (free values)
    handoff_next_action varchar,
    handoff_owner       varchar,
    handoff_sla_s       bigint,
    survey_kind         varchar,
    survey_score        integer,
    survey_comment      varchar,                -- PII (free text)
    consent_purpose     varchar,
    consent_granted     boolean,
    consent_basis       varchar,
    consent_source      varchar,
    link_phone          varchar,                -- PII
    link_email          varchar,                -- PII
    link_ids            json,                   -- PII
    extra               json,                   -- unknown top-level fields, kept for schema evolution
    raw                 varchar,                -- PII: the message value as received (secrets stripped)
    kafka_topic         varchar not null,
    kafka_partition     integer not null,
    kafka_offset        bigint not null,
    batch_id            bigint not null,
    ingested_at         timestamptz not null,
    -- Keyed hashes (pseudonym package) of the identifiers above: what the
    -- models join people by, so no derived table needs a raw identifier.
    contact_phone_hash  varchar,
    contact_email_hash  varchar,
    contact_ids_hash    json,                   -- {"instagram": "<hash>", ...}
    link_phone_hash     varchar,
    link_email_hash     varchar,
    link_ids_hash       json
);

-- Facts about the data directory itself, e.g. which hash key its hashes use.
create table if not exists warehouse_meta (
    name    varchar primary key,
    value   varchar not null
);

-- One row per rejected message. (topic, partition, offset) makes redelivery idempotent.
create table if not exists dead_letters (
    topic           varchar not null,
    "partition"     integer not null,
    "offset"        bigint not null,
    message_key     blob,                       -- PII possible
    raw             blob,                       -- PII possible: the bytes as received (truncated when oversized)
    raw_size        bigint not null,            -- size of the message as received
    reason_code     varchar not null,
    reason          varchar not null,
    batch_id        bigint not null,
    received_at     timestamptz not null,
    primary key (topic, "partition", "offset")
);

-- One row per committed batch and topic-partition.
create table if not exists ingest_batches (
    batch_id        bigint not null,
    topic           varchar not null,
    "partition"     integer not null,
    first_offset    bigint not null,
    last_offset     bigint not null,
    messages        integer not null,
    accepted        integer not null,
    duplicates      integer not null,
    dead_letters    integer not null,
    started_at      timestamptz not null,
    committed_at    timestamptz not null,
    primary key (batch_id, topic, "partition")
);
-- Messages of the partition behind the batch's last one when it was fetched
-- (null for files). Added after the first release, hence the alter.
alter table ingest_batches add column if not exists lag bigint;
