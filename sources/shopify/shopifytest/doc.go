// Package shopifytest is a Shopify store simulator for tests and demos.
//
// A Store serves the Admin GraphQL API the way tajo's admin client uses it
// (cursor-paginated customers, orders, products and abandoned checkouts
// filtered by updated_at; bulk query operations with their JSONL result
// files; currentBulkOperation and node polling; node(id:) pages of an
// object's nested line items, variants or media; currentAppInstallation,
// naming the app the token belongs to by Options.APIKey; customer(id:),
// null for a customer DeleteCustomer removed) and enforces what makes the
// real API hard to consume: a cost-based leaky bucket that answers
// THROTTLED when a client overdraws it, the single-query cost limit, an
// access-token check (401), and injectable 429/5xx or hostile answers.
// It also sends signed webhooks with every header Shopify sends, with
// duplicates, retries and reordering.
//
// Objects are generated lazily and deterministically from their index
// (CustomerAt, OrderAt, ProductAt, CheckoutAt), so a store of 100,000
// customers and 200,000 orders costs no memory and a test can compare what
// a client decoded with what the store holds. They are shaped like
// Shopify's fixtures: ids above 2^53, unicode names, money as decimal
// strings, customers without an email, orders from guests.
//
// The simulator parses just enough GraphQL: the operation is recognised by
// its root field, nested page sizes are read to price a query, and the
// variables first, after, query and sortKey are honoured. It always
// answers with the full field set the admin package asks for.
package shopifytest
