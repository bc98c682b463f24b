-- Order states now keep each stream's first shipped/in-transit time and first delivered time
-- (the delivery outcome's transit, read from the state instead of the event log). States
-- written before hold neither: `dashboard::backfill_transit_times` fills them once from the
-- log, then sets this to 1.
INSERT INTO meta (key, value) VALUES ('transit_times_backfill', 0);
