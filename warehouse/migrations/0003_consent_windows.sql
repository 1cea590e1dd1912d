-- cxlake warehouse, schema version 2: a consent withdrawal is judged by
-- event time. A 'pseudonymize' rule covers the events that occurred before
-- pseudonymize_until (the occurred_at of the grant that lifted it); null
-- while the withdrawal is in force, so it covers every event. A lifted rule
-- stays: an event dated inside the withdrawn window that arrives after the
-- re-grant is still stored without personal data. Null for 'suppress'.
alter table identifier_rules add column if not exists pseudonymize_until timestamptz;
