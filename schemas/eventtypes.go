package schemas

// Entity kinds (Entity.Kind). Sinks and the stale-update guard key on
// (kind, id).
const (
	KindCustomer       = "customer"
	KindOrder          = "order"
	KindCheckout       = "checkout"
	KindCart           = "cart"
	KindProduct        = "product"
	KindInventoryLevel = "inventory_level"
	KindInventoryItem  = "inventory_item"
	KindFulfillment    = "fulfillment"
	KindRefund         = "refund"
	KindShop           = "shop"
)

// Canonical event types (Event.Type) produced from Shopify topics. They live
// here, not in the Shopify source, so sinks and transforms can name them
// without depending on a connector. The data type of each is noted.
const (
	TypeCustomerCreated             = "customer_created"               // Customer
	TypeCustomerUpdated             = "customer_updated"               // Customer
	TypeCustomerDeleted             = "customer_deleted"               // Deletion
	TypeCustomerEnabled             = "customer_enabled"               // Customer
	TypeCustomerDisabled            = "customer_disabled"              // Customer
	TypeCustomerEmailConsentUpdated = "customer_email_consent_updated" // EmailConsentUpdate
	TypeCustomerSMSConsentUpdated   = "customer_sms_consent_updated"   // SMSConsentUpdate
	TypeCustomerTagsAdded           = "customer_tags_added"            // CustomerTagsChange
	TypeCustomerTagsRemoved         = "customer_tags_removed"          // CustomerTagsChange
	TypeCustomerPurchasingSummary   = "customer_purchasing_summary"    // PurchasingSummary
	TypeOrderPlaced                 = "order_placed"                   // Order
	TypeOrderUpdated                = "order_updated"                  // Order
	TypeOrderPaid                   = "order_paid"                     // Order
	TypeOrderFulfilled              = "order_fulfilled"                // Order
	TypeOrderPartiallyFulfilled     = "order_partially_fulfilled"      // Order
	TypeOrderCancelled              = "order_cancelled"                // Order
	TypeOrderDeleted                = "order_deleted"                  // Deletion
	TypeOrderRefunded               = "order_refunded"                 // Refund
	TypeFulfillmentCreated          = "fulfillment_created"            // Fulfillment
	TypeFulfillmentUpdated          = "fulfillment_updated"            // Fulfillment
	TypeCheckoutCreated             = "checkout_created"               // Checkout
	TypeCheckoutUpdated             = "checkout_updated"               // Checkout
	TypeCheckoutDeleted             = "checkout_deleted"               // Deletion
	TypeCartCreated                 = "cart_created"                   // Cart
	TypeCartUpdated                 = "cart_updated"                   // Cart
	TypeProductCreated              = "product_created"                // Product
	TypeProductUpdated              = "product_updated"                // Product
	TypeProductDeleted              = "product_deleted"                // Deletion
	TypeInventoryLevelUpdated       = "inventory_level_updated"        // InventoryLevel
	TypeInventoryLevelConnected     = "inventory_level_connected"      // InventoryLevel
	TypeInventoryLevelDisconnected  = "inventory_level_disconnected"   // InventoryLevel
	TypeInventoryItemUpdated        = "inventory_item_updated"         // InventoryItem
	TypeAppUninstalled              = "app_uninstalled"                // Shop
	TypeCustomerDataRequest         = "customer_data_request"          // CustomerDataRequest
	TypeCustomerRedact              = "customer_redact"                // CustomerRedact
	TypeShopRedact                  = "shop_redact"                    // ShopRedact
	// TypeDeliveryUnprocessable is an authenticated delivery that could
	// not be turned into a canonical event (no entity id, a topic tajo
	// does not know): Raw holds the body, Headers its headers, Problems
	// the reason. It travels on Kafka like any event so that it is never
	// only in an answer (DESIGN.md invariant 7); the chain rejects it into
	// the error history, from where `tajo replay` can send it again.
	TypeDeliveryUnprocessable = "delivery_unprocessable" // no Data
)
