package schemas

import "time"

// The payloads below are Shopify's small customer topics. Since API 2025-01
// they are the only source of consent, tags and purchase statistics: a
// customers/update webhook no longer carries them. Their canonical form
// names the customer CustomerID whatever Shopify called it (customer_id,
// id, customerId).

// EmailConsentUpdate is a change of a customer's email marketing consent
// (topic customers_email_marketing_consent/update).
type EmailConsentUpdate struct {
	CustomerID            ID                     `json:"customer_id"`
	EmailAddress          string                 `json:"email_address,omitempty"`
	EmailMarketingConsent *EmailMarketingConsent `json:"email_marketing_consent,omitempty"`
}

// SMSConsentUpdate is a change of a customer's SMS marketing consent
// (topic customers_marketing_consent/update).
type SMSConsentUpdate struct {
	CustomerID          ID                   `json:"customer_id"`
	Phone               string               `json:"phone,omitempty"`
	SMSMarketingConsent *SMSMarketingConsent `json:"sms_marketing_consent,omitempty"`
}

// Tag change actions.
const (
	TagsAdded   = "added"
	TagsRemoved = "removed"
)

// CustomerTagsChange is a set of tags added to or removed from a customer
// (topics customer.tags_added, customer.tags_removed). Tags holds only the
// changed tags, not the customer's full set.
type CustomerTagsChange struct {
	CustomerID ID        `json:"customer_id"`
	Action     string    `json:"action"`
	Tags       Tags      `json:"tags"`
	OccurredAt time.Time `json:"occurred_at,omitzero"`
}

// PurchasingSummary is a customer's lifetime purchase statistics, replacing
// the legacy orders_count / total_spent of customer payloads (topic
// customers/purchasing_summary).
type PurchasingSummary struct {
	CustomerID     ID        `json:"customer_id"`
	NumberOfOrders *Count    `json:"number_of_orders,omitempty"`
	AmountSpent    *Money    `json:"amount_spent,omitempty"`
	Currency       string    `json:"currency,omitempty"`
	LastOrderID    ID        `json:"last_order_id,omitempty"`
	OccurredAt     time.Time `json:"occurred_at,omitzero"`
}

// Deletion is the data of every *_deleted event. Shopify's delete payloads
// carry little more than the id, so they get their own small type rather
// than a canonical object whose zero totals would read as real values.
type Deletion struct {
	ID ID `json:"id"`
	// Token and CartToken are set for checkouts, whose deletion payload
	// carries the cart token that joins them to carts and orders.
	Token     string `json:"token,omitempty"`
	CartToken string `json:"cart_token,omitempty"`
}
