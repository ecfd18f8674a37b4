package shopify

import (
	"slices"
	"strings"

	"github.com/tajo/tajo/schemas"
)

// Topic is a Shopify webhook topic tajo subscribes to, with the canonical
// event it becomes.
type Topic struct {
	Name string // as in X-Shopify-Topic, e.g. "orders/create"
	Type string // canonical Event.Type, e.g. schemas.TypeOrderPlaced
	Kind string // Entity.Kind, e.g. schemas.KindOrder
	// Compliance topics (the GDPR ones) are mandatory for public apps, are
	// declared in the app configuration rather than through the Admin API,
	// and must be answered 401 on a bad HMAC.
	Compliance bool

	decode decodeFunc
}

// GraphQLName is the topic as the Admin GraphQL WebhookSubscriptionTopic
// enum spells it: "orders/create" → "ORDERS_CREATE",
// "customer.tags_added" → "CUSTOMER_TAGS_ADDED".
func (t Topic) GraphQLName() string {
	return strings.ToUpper(strings.NewReplacer("/", "_", ".", "_").Replace(t.Name))
}

var topics = []Topic{
	{Name: "customers/create", Type: schemas.TypeCustomerCreated, Kind: schemas.KindCustomer, decode: decodeCustomer},
	{Name: "customers/update", Type: schemas.TypeCustomerUpdated, Kind: schemas.KindCustomer, decode: decodeCustomer},
	{Name: "customers/delete", Type: schemas.TypeCustomerDeleted, Kind: schemas.KindCustomer, decode: decodeDeletion},
	{Name: "customers/enable", Type: schemas.TypeCustomerEnabled, Kind: schemas.KindCustomer, decode: decodeCustomer},
	{Name: "customers/disable", Type: schemas.TypeCustomerDisabled, Kind: schemas.KindCustomer, decode: decodeCustomer},
	{Name: "customers_email_marketing_consent/update", Type: schemas.TypeCustomerEmailConsentUpdated, Kind: schemas.KindCustomer, decode: decodeEmailConsent},
	{Name: "customers_marketing_consent/update", Type: schemas.TypeCustomerSMSConsentUpdated, Kind: schemas.KindCustomer, decode: decodeSMSConsent},
	{Name: "customer.tags_added", Type: schemas.TypeCustomerTagsAdded, Kind: schemas.KindCustomer, decode: decodeTags(schemas.TagsAdded)},
	{Name: "customer.tags_removed", Type: schemas.TypeCustomerTagsRemoved, Kind: schemas.KindCustomer, decode: decodeTags(schemas.TagsRemoved)},
	{Name: "customers/purchasing_summary", Type: schemas.TypeCustomerPurchasingSummary, Kind: schemas.KindCustomer, decode: decodePurchasingSummary},

	{Name: "orders/create", Type: schemas.TypeOrderPlaced, Kind: schemas.KindOrder, decode: decodeOrder},
	{Name: "orders/updated", Type: schemas.TypeOrderUpdated, Kind: schemas.KindOrder, decode: decodeOrder},
	{Name: "orders/paid", Type: schemas.TypeOrderPaid, Kind: schemas.KindOrder, decode: decodeOrder},
	{Name: "orders/fulfilled", Type: schemas.TypeOrderFulfilled, Kind: schemas.KindOrder, decode: decodeOrder},
	{Name: "orders/partially_fulfilled", Type: schemas.TypeOrderPartiallyFulfilled, Kind: schemas.KindOrder, decode: decodeOrder},
	{Name: "orders/cancelled", Type: schemas.TypeOrderCancelled, Kind: schemas.KindOrder, decode: decodeOrder},
	{Name: "orders/delete", Type: schemas.TypeOrderDeleted, Kind: schemas.KindOrder, decode: decodeDeletion},
	{Name: "refunds/create", Type: schemas.TypeOrderRefunded, Kind: schemas.KindRefund, decode: decodeRefund},
	{Name: "fulfillments/create", Type: schemas.TypeFulfillmentCreated, Kind: schemas.KindFulfillment, decode: decodeFulfillment},
	{Name: "fulfillments/update", Type: schemas.TypeFulfillmentUpdated, Kind: schemas.KindFulfillment, decode: decodeFulfillment},

	{Name: "checkouts/create", Type: schemas.TypeCheckoutCreated, Kind: schemas.KindCheckout, decode: decodeCheckout},
	{Name: "checkouts/update", Type: schemas.TypeCheckoutUpdated, Kind: schemas.KindCheckout, decode: decodeCheckout},
	{Name: "checkouts/delete", Type: schemas.TypeCheckoutDeleted, Kind: schemas.KindCheckout, decode: decodeDeletion},
	{Name: "carts/create", Type: schemas.TypeCartCreated, Kind: schemas.KindCart, decode: decodeCart},
	{Name: "carts/update", Type: schemas.TypeCartUpdated, Kind: schemas.KindCart, decode: decodeCart},

	{Name: "products/create", Type: schemas.TypeProductCreated, Kind: schemas.KindProduct, decode: decodeProduct},
	{Name: "products/update", Type: schemas.TypeProductUpdated, Kind: schemas.KindProduct, decode: decodeProduct},
	{Name: "products/delete", Type: schemas.TypeProductDeleted, Kind: schemas.KindProduct, decode: decodeDeletion},
	{Name: "inventory_levels/update", Type: schemas.TypeInventoryLevelUpdated, Kind: schemas.KindInventoryLevel, decode: decodeInventoryLevel},
	{Name: "inventory_levels/connect", Type: schemas.TypeInventoryLevelConnected, Kind: schemas.KindInventoryLevel, decode: decodeInventoryLevel},
	{Name: "inventory_levels/disconnect", Type: schemas.TypeInventoryLevelDisconnected, Kind: schemas.KindInventoryLevel, decode: decodeInventoryLevel},
	{Name: "inventory_items/update", Type: schemas.TypeInventoryItemUpdated, Kind: schemas.KindInventoryItem, decode: decodeInventoryItem},

	{Name: "app/uninstalled", Type: schemas.TypeAppUninstalled, Kind: schemas.KindShop, decode: decodeShop},
	{Name: "customers/data_request", Type: schemas.TypeCustomerDataRequest, Kind: schemas.KindCustomer, Compliance: true, decode: decodeDataRequest},
	{Name: "customers/redact", Type: schemas.TypeCustomerRedact, Kind: schemas.KindCustomer, Compliance: true, decode: decodeCustomerRedact},
	{Name: "shop/redact", Type: schemas.TypeShopRedact, Kind: schemas.KindShop, Compliance: true, decode: decodeShopRedact},
}

// byName indexes topics by both spellings of their name.
var byName = func() map[string]Topic {
	m := make(map[string]Topic, 2*len(topics))
	for _, t := range topics {
		m[t.Name] = t
		m[t.GraphQLName()] = t
	}
	return m
}()

// LookupTopic finds a supported topic by its webhook name ("orders/create")
// or its GraphQL enum name ("ORDERS_CREATE").
func LookupTopic(name string) (Topic, bool) {
	t, ok := byName[name]
	return t, ok
}

// Topics returns every supported topic, in a stable order, e.g. to create
// subscriptions.
func Topics() []Topic { return slices.Clone(topics) }
