package schemas

import "embed"

// ObjectJSONSchemas holds one JSON Schema per canonical object
// (objects/<name>.schema.json). They are generated from the Go types by
// TestObjectSchemasUpToDate (go test ./schemas -update), so they cannot
// drift from what sources actually write.
//
//go:embed objects/*.schema.json
var ObjectJSONSchemas embed.FS

// dataObjects names the canonical object each event type carries in
// Event.Data, by schema file name.
var dataObjects = map[string]string{
	TypeCustomerCreated: "customer", TypeCustomerUpdated: "customer",
	TypeCustomerEnabled: "customer", TypeCustomerDisabled: "customer",
	TypeCustomerDeleted: "deletion", TypeOrderDeleted: "deletion",
	TypeCheckoutDeleted: "deletion", TypeProductDeleted: "deletion",
	TypeCustomerEmailConsentUpdated: "email_consent_update",
	TypeCustomerSMSConsentUpdated:   "sms_consent_update",
	TypeCustomerTagsAdded:           "customer_tags_change",
	TypeCustomerTagsRemoved:         "customer_tags_change",
	TypeCustomerPurchasingSummary:   "purchasing_summary",
	TypeOrderPlaced:                 "order", TypeOrderUpdated: "order", TypeOrderPaid: "order",
	TypeOrderFulfilled: "order", TypeOrderPartiallyFulfilled: "order", TypeOrderCancelled: "order",
	TypeOrderRefunded:      "refund",
	TypeFulfillmentCreated: "fulfillment", TypeFulfillmentUpdated: "fulfillment",
	TypeCheckoutCreated: "checkout", TypeCheckoutUpdated: "checkout",
	TypeCartCreated: "cart", TypeCartUpdated: "cart",
	TypeProductCreated: "product", TypeProductUpdated: "product",
	TypeInventoryLevelUpdated: "inventory_level", TypeInventoryLevelConnected: "inventory_level",
	TypeInventoryLevelDisconnected: "inventory_level",
	TypeInventoryItemUpdated:       "inventory_item",
	TypeAppUninstalled:             "shop",
	TypeCustomerDataRequest:        "customer_data_request",
	TypeCustomerRedact:             "customer_redact",
	TypeShopRedact:                 "shop_redact",
}

// DataObject returns the name of the canonical object (and of its schema
// file, objects/<name>.schema.json) that events of eventType carry.
func DataObject(eventType string) (string, bool) {
	n, ok := dataObjects[eventType]
	return n, ok
}
