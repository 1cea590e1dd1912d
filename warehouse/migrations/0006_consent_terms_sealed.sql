-- cxlake warehouse, schema version 6: a consent's basis and source are
-- producer free text, sealed in the event's content (content layout 3,
-- warehouse/content.go); events.consent_basis and events.consent_source
-- stay null from now on, and so do consent_state's basis and source.
-- Sealing needs the data keys, which are not in DuckDB, so the rows are
-- converted by the one-time Go step at Open (warehouse/reseal.go), in
-- chunks, picking only rows still in clear, so a kill is finished by the
-- next Open. This migration makes a directory that had that step for
-- layout 2 run it again: it forgets that the step was done.
delete from warehouse_meta where name = 'free_text_sealed';
