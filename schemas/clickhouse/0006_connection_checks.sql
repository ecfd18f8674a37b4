-- How each service answered tajo's credentials: Shopify's Admin API to a
-- store's access token, Brevo to the API key. One row per answer, recorded
-- where it arrived (the backfill and reconciliation, the Brevo sink's key
-- check and its 401/403s, `tajo connectors test`). `tajo connectors status`
-- says connected only when the latest row of every (service, shop) is ok.
--
-- at_ns is the check's time in nanoseconds: it orders two checks of one
-- second, and a retried insert of the same row folds into one.
CREATE TABLE IF NOT EXISTS connection_checks (
    ts          DateTime('UTC'),
    at_ns       UInt64,
    service     String,
    shop        String,
    ok          UInt8,
    detail      String,
    ingested_at DateTime('UTC') DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ingested_at)
ORDER BY (service, shop, at_ns);
