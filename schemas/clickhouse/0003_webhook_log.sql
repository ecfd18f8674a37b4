-- Every webhook request received, answered or not. A delivery that Shopify
-- retries is a new row (a new ts); the same row written twice by a retried
-- insert is folded by (shop, webhook_id, ts).
CREATE TABLE IF NOT EXISTS webhook_log (
    ts          DateTime('UTC'),
    shop        String,
    topic       String,
    webhook_id  String,
    api_version String,
    hmac        Enum8('valid' = 1, 'invalid' = 2, 'missing' = 3),
    status      UInt16,
    bytes       UInt32,
    latency_ms  UInt32
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (shop, webhook_id, ts);
