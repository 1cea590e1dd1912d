-- cxlake warehouse, schema version 2: the keyed hash of each event's
-- canonical content beside its event_id (warehouse/seen.go), so that the
-- same event_id arriving with other content is a dead letter
-- (event_id_reused) while an identical redelivery stays a duplicate, across
-- restarts. Rows stored before this migration keep null: their content is
-- not known, and a later delivery of their id counts as a duplicate.
alter table events add column if not exists content_hash bigint;
