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
