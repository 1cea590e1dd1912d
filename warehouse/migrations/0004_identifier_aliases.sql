-- cxlake warehouse, schema version 4: identifier hashes made under an older
-- normalization (event/normalize.go, event/phone.go: Brazil's mobile 9th
-- digit, a phone or e-mail sent as a channel id, case-insensitive handles)
-- and the hash the same identifier has under the current one. Events keep
-- their old hashes, because an event's subject hash also names the data key
-- its content is sealed under; identity resolution (the models and
-- governance) joins each old hash to its current one instead. Filled once,
-- at Open, from the sealed values in identifiers (warehouse/aliases.go).
-- Keyed hashes only; deleted with the person at erasure, and with the old
-- identifier when retention collects it.
create table if not exists identifier_aliases (
    identifier_hash     varchar primary key,    -- the hash stored under the older normalization
    identifier_kind     varchar not null,       -- its kind: phone, email, id:<channel>
    canonical_hash      varchar not null,       -- the same identifier's hash under the current normalization
    canonical_kind      varchar not null,       -- its kind now (an ids.whatsapp phone is a phone)
    added_at            timestamptz not null
);
