package admin

import "github.com/tajo/tajo/schemas"

// Field selections, shared by page and bulk queries so both decode into
// the same node types. Nested connections use `nodes` in pages and are
// flattened into child lines (__parentId) in bulk results.
const (
	customerFields = `id defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber } firstName lastName state note locale verifiedEmail taxExempt
    createdAt updatedAt tags numberOfOrders amountSpent { amount currencyCode }
    defaultAddress { id firstName lastName name company address1 address2 city province provinceCode country countryCodeV2 zip phone }
    emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }`
	moneyBagFields = `{ shopMoney { amount currencyCode } }`
	orderField     = `id name email createdAt updatedAt processedAt cancelledAt cancelReason
    displayFinancialStatus displayFulfillmentStatus currencyCode presentmentCurrencyCode test confirmed
    sourceName customerLocale customerAcceptsMarketing tags customAttributes { key value }
    totalPriceSet ` + moneyBagFields + ` subtotalPriceSet ` + moneyBagFields + ` totalTaxSet ` + moneyBagFields + `
    totalDiscountsSet ` + moneyBagFields + ` currentTotalPriceSet ` + moneyBagFields + `
    customer { id defaultEmailAddress { emailAddress } firstName lastName }`
	lineItemFields = `id name title variantTitle sku vendor quantity product { id } variant { id }
    originalUnitPriceSet ` + moneyBagFields
	productFields = `id title handle descriptionHtml vendor productType status tags createdAt updatedAt publishedAt`
	variantFields = `id title sku position price compareAtPrice selectedOptions { name value }
    inventoryItem { id } inventoryQuantity inventoryPolicy taxable createdAt updatedAt`
	// Product.images is deprecated since the 2024-04 product model: images
	// are read as media, keeping MediaImage nodes.
	mediaFields    = `id mediaContentType ... on MediaImage { image { url altText width height } }`
	checkoutFields = `id name abandonedCheckoutUrl createdAt updatedAt completedAt note
    customer { id defaultEmailAddress { emailAddress } firstName lastName }
    totalPriceSet ` + moneyBagFields + ` subtotalPriceSet ` + moneyBagFields + ` totalTaxSet ` + moneyBagFields + `
    totalDiscountSet ` + moneyBagFields
	checkoutLineFields = `id title variantTitle sku quantity product { id } variant { id } originalUnitPriceSet ` + moneyBagFields
	pageInfo           = `pageInfo { hasNextPage endCursor }`
)

// Page queries: one page of a connection in updated_at order. Nested page
// sizes are literals because they multiply the query's cost: 20 line items
// or variants and 10 media per object; an object with more is completed
// with the node queries below before it is handed out, never truncated.
const (
	QueryCustomersPage = `query CustomersPage($first: Int!, $after: String, $query: String, $sortKey: CustomerSortKeys) {
  customers(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    nodes { ` + customerFields + ` }
    ` + pageInfo + `
  }
}`
	QueryOrdersPage = `query OrdersPage($first: Int!, $after: String, $query: String, $sortKey: OrderSortKeys) {
  orders(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    nodes { ` + orderField + `
      lineItems(first: 20) { nodes { ` + lineItemFields + ` } ` + pageInfo + ` } }
    ` + pageInfo + `
  }
}`
	QueryProductsPage = `query ProductsPage($first: Int!, $after: String, $query: String, $sortKey: ProductSortKeys) {
  products(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    nodes { ` + productFields + `
      variants(first: 20) { nodes { ` + variantFields + ` } ` + pageInfo + ` }
      media(first: 10) { nodes { ` + mediaFields + ` } ` + pageInfo + ` } }
    ` + pageInfo + `
  }
}`
	QueryAbandonedCheckoutsPage = `query AbandonedCheckoutsPage($first: Int!, $after: String, $query: String, $sortKey: AbandonedCheckoutSortKeys) {
  abandonedCheckouts(first: $first, after: $after, query: $query, sortKey: $sortKey) {
    nodes { ` + checkoutFields + `
      lineItems(first: 20) { nodes { ` + checkoutLineFields + ` } ` + pageInfo + ` } }
    ` + pageInfo + `
  }
}`
)

// Node queries page the rest of a nested connection of one object.
const (
	QueryOrderLineItems = `query OrderLineItems($id: ID!, $after: String) {
  node(id: $id) { ... on Order { lineItems(first: 100, after: $after) { nodes { ` + lineItemFields + ` } ` + pageInfo + ` } } }
}`
	QueryCheckoutLineItems = `query CheckoutLineItems($id: ID!, $after: String) {
  node(id: $id) { ... on AbandonedCheckout { lineItems(first: 100, after: $after) { nodes { ` + checkoutLineFields + ` } ` + pageInfo + ` } } }
}`
	QueryProductVariants = `query ProductVariants($id: ID!, $after: String) {
  node(id: $id) { ... on Product { variants(first: 100, after: $after) { nodes { ` + variantFields + ` } ` + pageInfo + ` } } }
}`
	QueryProductMedia = `query ProductMedia($id: ID!, $after: String) {
  node(id: $id) { ... on Product { media(first: 100, after: $after) { nodes { ` + mediaFields + ` } ` + pageInfo + ` } } }
}`
)

// Bulk queries: no page sizes, nested connections as edges/node (the form
// bulk operations accept); Shopify writes each nested node on its own line.
// %s is replaced by the connection arguments (a search filter) or nothing.
const (
	BulkCustomers = `{ customers%s { edges { node { ` + customerFields + ` } } } }`
	BulkOrders    = `{ orders%s { edges { node { ` + orderField + `
    lineItems { edges { node { ` + lineItemFields + ` } } } } } } }`
	BulkProducts = `{ products%s { edges { node { ` + productFields + `
    variants { edges { node { ` + variantFields + ` } } }
    media { edges { node { ` + mediaFields + ` } } } } } } }`
	BulkAbandonedCheckouts = `{ abandonedCheckouts%s { edges { node { ` + checkoutFields + `
    lineItems { edges { node { ` + checkoutLineFields + ` } } } } } } }`
)

// Bulk operation control. The client always runs bulk queries with
// groupObjects: true (the default until API 2025-10, false since 2026-01):
// only a file whose children follow their parent can be reassembled while
// holding one object in memory.
const (
	MutationBulkRun = `mutation BulkRun($query: String!, $groupObjects: Boolean!) {
  bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) {
    bulkOperation { id status }
    userErrors { field message }
  }
}`
	QueryBulkPoll = `query BulkPoll($id: ID!) {
  node(id: $id) {
    ... on BulkOperation { id status errorCode objectCount fileSize url partialDataUrl createdAt completedAt }
  }
}`
	QueryCurrentBulk = `query CurrentBulk {
  currentBulkOperation(type: QUERY) { id status errorCode objectCount fileSize url partialDataUrl createdAt completedAt }
}`
)

// Kinds the client reads, named as schemas entity kinds.
const (
	KindCustomer = schemas.KindCustomer
	KindOrder    = schemas.KindOrder
	KindProduct  = schemas.KindProduct
	KindCheckout = schemas.KindCheckout
)

// Kinds lists what a full backfill reads, in a sensible order: products
// and customers before the orders and checkouts that reference them.
var Kinds = []string{KindProduct, KindCustomer, KindOrder, KindCheckout}

// spec ties a kind to its queries.
type spec struct {
	root      string
	page      string
	bulk      string
	sortKey   string
	nodeCost  float64 // cost of one node including its nested connections
	byUpdated bool    // sortKey orders by updated_at
}

var specs = map[string]spec{
	KindCustomer: {root: "customers", page: QueryCustomersPage, bulk: BulkCustomers, sortKey: "UPDATED_AT", nodeCost: 1, byUpdated: true},
	KindOrder:    {root: "orders", page: QueryOrdersPage, bulk: BulkOrders, sortKey: "UPDATED_AT", nodeCost: 1 + 22, byUpdated: true},
	KindProduct:  {root: "products", page: QueryProductsPage, bulk: BulkProducts, sortKey: "UPDATED_AT", nodeCost: 1 + 22 + 12, byUpdated: true},
	// AbandonedCheckoutSortKeys has no UPDATED_AT: checkouts are read in
	// id order, filtered by updated_at, and the cursor keeps the largest
	// updated_at seen for the next run.
	KindCheckout: {root: "abandonedCheckouts", page: QueryAbandonedCheckoutsPage, bulk: BulkAbandonedCheckouts, sortKey: "ID", nodeCost: 1 + 22},
}
