-- The dead-letter store: records a stage rejected, with the reason and the
-- payload as received so they can be inspected and replayed.
--
-- event_id is the envelope id, or a hash of the payload when the payload is
-- not an envelope; a record rejected again on redelivery replaces its row.
CREATE TABLE IF NOT EXISTS error_history (
    ts          DateTime('UTC'),
    shop        String,
    stage       String,
    error_class Enum8('retryable' = 1, 'rejected' = 2, 'fatal' = 3),
    code        String,
    message     String,
    event_id    String,
    payload     String
) ENGINE = ReplacingMergeTree(ts)
PARTITION BY toYYYYMM(ts)
ORDER BY (shop, stage, event_id);
