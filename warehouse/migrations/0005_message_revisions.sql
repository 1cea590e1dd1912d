-- cxlake warehouse, schema version 5: edits and deletions of stored
-- messages (warehouse/revise.go). One row per revision a source sent, by
-- the id its decoder gives it, so a replay records nothing twice. No text
-- is kept here: an edit's new text goes straight into the message's sealed
-- content, in a transaction right after the batch that reads the edit
-- commits and before its offsets are committed. state says what
-- the revision did: applied; superseded (an edit older than one already
-- applied, or after a deletion); pending (its message is not stored yet);
-- applied_without_text (an edit read before its message: when the message
-- arrives its text is removed, since the person replaced it and the
-- replacement was not kept).
create table if not exists message_revisions (
    revision_id  varchar primary key,  -- <event_id>:edit:<unix ms>, <event_id>:delete
    event_id     varchar not null,     -- the message revised
    kind         varchar not null,     -- edit, delete
    revised_at   timestamptz not null, -- when the person edited or deleted it
    state        varchar not null,     -- applied, superseded, pending, applied_without_text
    batch_id     bigint not null,
    recorded_at  timestamptz not null
);
