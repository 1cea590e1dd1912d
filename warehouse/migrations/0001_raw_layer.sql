-- cxlake warehouse, schema version 1: the raw layer (written by ingest only)
-- and the lake's publication log. Column documentation lives in
-- docs/tables.md; PII columns are marked there. A released migration never
-- changes: a change to what is stored is a new numbered file (docs/upgrading.md).

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
    actor_kind          varchar,
    actor_id            varchar,
    actor_team          varchar,
    message_direction   varchar,
    message_private     boolean,
    message_intent      varchar,
    handoff_reason      varchar,
    handoff_to_team     varchar,
    handoff_next_action varchar,
    handoff_owner       varchar,
    handoff_sla_s       bigint,
    handoff_has_context boolean,                -- summary non-empty and at least one field (event.Handoff.HasContext)
    survey_kind         varchar,
    survey_score        integer,
    consent_purpose     varchar,
    consent_granted     boolean,
    consent_basis       varchar,
    consent_source      varchar,
    kafka_topic         varchar not null,
    kafka_partition     integer not null,
    kafka_offset        bigint not null,
    batch_id            bigint not null,
    ingested_at         timestamptz not null,
    -- Keyed hashes (pseudonym package) of the identifiers the event names:
    -- what the models join people by, so no derived table needs a raw identifier.
    contact_phone_hash  varchar,
    contact_email_hash  varchar,
    contact_ids_hash    json,                   -- {"instagram": "<hash>", ...}
    link_phone_hash     varchar,
    link_email_hash     varchar,
    link_ids_hash       json,
    -- The hash of the event's primary identifier (phone, else email, else
    -- the first per-channel id): whose data key seals content.
    subject_hash        varchar,
    -- PII, sealed (AES-256-GCM under the subject's key and the day's key,
    -- see sealing.go): contact name, message text, handoff summary and
    -- fields, survey comment, unknown fields and the raw payload. Null when
    -- nothing personal is stored (consent withdrawn, past retention).
    -- Ciphertext does not compress, so DuckDB is told not to try: its
    -- compression analysis of this column at every checkpoint was wasted.
    content             blob using compression uncompressed
);

-- One row per identifier ever stored in clear form, sealed under that
-- identifier's own data key: the raw values behind the *_hash columns.
-- Erasure and consent withdrawal destroy the key and delete the row.
create table if not exists identifiers (
    identifier_hash     varchar not null,
    identifier_kind     varchar not null,       -- phone, email, id:<channel>
    sealed_value        blob not null,          -- PII, sealed
    first_seen_at       timestamptz not null,
    batch_id            bigint not null
);

-- Identifier hashes ingest acts on: 'suppress' drops events naming them
-- (erased people, so that a replay does not bring them back) and dead
-- letters mentioning them; 'pseudonymize' stores events naming them
-- without personal data (analytics consent withdrawn). Keyed hashes only.
create table if not exists identifier_rules (
    identifier_hash     varchar not null,
    rule                varchar not null,       -- suppress, pseudonymize
    reason              varchar not null,       -- erasure, consent_withdrawn
    ref                 varchar,                -- the privacy request or consent event behind it
    added_at            timestamptz not null,
    primary key (identifier_hash, rule)
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
    message_key     blob,                       -- PII possible; sealed under the dead letter's own data key
    raw             blob using compression uncompressed, -- PII possible: the bytes as received (truncated when oversized), sealed likewise
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
    suppressed      integer not null default 0, -- events dropped: they name an erased identifier
    expired         integer not null default 0, -- events dropped: older than the raw-events retention
    started_at      timestamptz not null,
    committed_at    timestamptz not null,
    primary key (batch_id, topic, "partition")
);
-- Messages of the partition behind the batch's last one when it was fetched
-- (null for files). Added after the first release, hence the alter.
alter table ingest_batches add column if not exists lag bigint;

-- Messages of source topics (Chatwoot, Evolution API) that decoded but gave
-- no event: an event name cxlake does not decode, or one that carries
-- nothing for the timeline (a delivery receipt, an address-book sync). One
-- row per message; (topic, partition, offset) makes redelivery idempotent.
-- No payload is kept: the reason says what was skipped and why.
create table if not exists skipped_messages (
    topic           varchar not null,
    "partition"     integer not null,
    "offset"        bigint not null,
    source          varchar not null,           -- chatwoot, evolution
    event_name      varchar,                    -- the source's event name, e.g. messages.update
    reason_code     varchar not null,           -- unknown_event, no_timeline_event
    reason          varchar not null,           -- what was skipped and why; never quotes personal data
    batch_id        bigint not null,
    skipped_at      timestamptz not null,
    primary key (topic, "partition", "offset")
);

-- One row per publication of events to the Parquet lake (lake.go): the
-- batch range it covered. The next publication starts after the last one.
create table if not exists lake_publications (
    publication_id bigint primary key,
    from_batch_id  bigint not null,
    to_batch_id    bigint not null,
    events         bigint not null,
    published_at   timestamptz not null
);
