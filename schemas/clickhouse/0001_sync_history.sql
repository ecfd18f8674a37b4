-- One row per event per sink: what happened to it there.
--
-- ts is the event's occurred_at, so every delivery of one event lands in the
-- same monthly partition and ReplacingMergeTree folds redeliveries (same
-- shop, sink and event_id) into one row; synced_at versions them, so the
-- latest outcome of an event at a sink is the one that stays.
CREATE TABLE IF NOT EXISTS sync_history (
    ts          DateTime('UTC'),
    synced_at   DateTime('UTC'),
    shop        String,
    event_id    String,
    event_type  String,
    entity_kind String,
    entity_id   String,
    sink        String,
    outcome     Enum8('delivered' = 1, 'skipped' = 2, 'rejected' = 3, 'failed' = 4),
    reason      String,
    attempt     UInt32,
    latency_ms  UInt32
) ENGINE = ReplacingMergeTree(synced_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (shop, sink, event_id);
