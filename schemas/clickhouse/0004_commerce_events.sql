-- Order, cart and checkout events with their amounts, for revenue and
-- cart-recovery analytics. Amounts are decimals as Shopify sends them, in
-- the event's currency; one row per event id.
CREATE TABLE IF NOT EXISTS commerce_events (
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
    quantity        UInt32
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (shop, event_id);
