-- Every history table partitioned, and so expired, by ingested_at: the time
-- tajo wrote the row. ts keeps the event's own time (occurred_at; for
-- error_history and webhook_log the time of the rejection or the request),
-- so a backfilled 2019 order keeps its history for retention_days after it
-- was written, not after 2019.
--
-- Each statement creates <table>_new in the new layout. The migrator
-- (sinks/clickhouse: relayout) then copies <table>'s rows into it, naming
-- every column, swaps the two with RENAME and drops the old table. It reads
-- the state it finds (a leftover _new or _old table) and resumes, so a start
-- killed half-way loses nothing and the next start finishes the move.
--
-- A redelivery written in another month than the first delivery lands in
-- another partition, where ReplacingMergeTree does not fold the two: FINAL
-- folds within a partition only.
CREATE TABLE IF NOT EXISTS sync_history_new (
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
    latency_ms  UInt32,
    ingested_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree(synced_at)
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (shop, sink, event_id);

CREATE TABLE IF NOT EXISTS error_history_new (
    ts          DateTime('UTC'),
    shop        String,
    stage       String,
    error_class Enum8('retryable' = 1, 'rejected' = 2, 'fatal' = 3),
    code        String,
    message     String,
    event_id    String,
    payload     String,
    ingested_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree(ts)
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (shop, stage, event_id);

CREATE TABLE IF NOT EXISTS webhook_log_new (
    ts          DateTime('UTC'),
    shop        String,
    topic       String,
    webhook_id  String,
    api_version String,
    hmac        Enum8('valid' = 1, 'invalid' = 2, 'missing' = 3),
    status      UInt16,
    bytes       UInt32,
    latency_ms  UInt32,
    ingested_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (shop, webhook_id, ts);

CREATE TABLE IF NOT EXISTS commerce_events_new (
    ts              DateTime('UTC'),
    shop            String,
    event_id        String,
    event_type      String,
    entity_kind     String,
    entity_id       String,
    customer_id     String,
    email           String,
    currency        String,
    total_price     Decimal(18, 4),
    subtotal_price  Decimal(18, 4),
    total_tax       Decimal(18, 4),
    total_discounts Decimal(18, 4),
    line_items      UInt32,
    quantity        UInt32,
    ingested_at     DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (shop, event_id);
