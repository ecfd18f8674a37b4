// Package schemas holds the canonical data of tajo: the event envelope that
// travels on Kafka (tajo.event.v1), the canonical objects it carries
// (customers, orders, checkouts, products, inventory, browsing), their JSON
// Schema files, and the ClickHouse DDL.
//
// Everything here is a leaf: it imports nothing from the rest of tajo, so
// sources, transforms and sinks can all depend on it without depending on
// each other.
//
// Two rules hold for every type in this package: ids are int64 or strings,
// never float64 (Shopify ids exceed 2^53), and money is a decimal, never a
// float, until a mapping computes a Brevo attribute.
package schemas
