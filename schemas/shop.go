package schemas

import "time"

// Shop is a store, as sent by app/uninstalled (and the REST shop resource).
type Shop struct {
	ID              ID        `json:"id"`
	Name            string    `json:"name,omitempty"`
	Email           string    `json:"email,omitempty"`
	CustomerEmail   string    `json:"customer_email,omitempty"`
	Domain          string    `json:"domain,omitempty"`
	MyshopifyDomain string    `json:"myshopify_domain,omitempty"`
	Currency        string    `json:"currency,omitempty"`
	CountryCode     string    `json:"country_code,omitempty"`
	PrimaryLocale   string    `json:"primary_locale,omitempty"`
	IANATimezone    string    `json:"iana_timezone,omitempty"`
	PlanName        string    `json:"plan_name,omitempty"`
	PlanDisplayName string    `json:"plan_display_name,omitempty"`
	ShopOwner       string    `json:"shop_owner,omitempty"`
	CreatedAt       time.Time `json:"created_at,omitzero"`
	UpdatedAt       time.Time `json:"updated_at,omitzero"`
}

// The three compliance (GDPR) requests below must be acted on within 30
// days. They name the shop in the payload too, but the authenticated shop
// is the one of the delivery, not ShopDomain.

// GDPRCustomer identifies the customer of a compliance request.
type GDPRCustomer struct {
	ID    ID     `json:"id"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// CustomerDataRequest asks for the data held about a customer
// (topic customers/data_request).
type CustomerDataRequest struct {
	ShopID          ID           `json:"shop_id"`
	ShopDomain      string       `json:"shop_domain,omitempty"`
	Customer        GDPRCustomer `json:"customer"`
	OrdersRequested []ID         `json:"orders_requested,omitempty"`
	DataRequest     GDPRRequest  `json:"data_request"`
}

// GDPRRequest identifies a data request, to quote when answering it.
type GDPRRequest struct {
	ID ID `json:"id"`
}

// CustomerRedact asks to erase a customer's personal data
// (topic customers/redact).
type CustomerRedact struct {
	ShopID         ID           `json:"shop_id"`
	ShopDomain     string       `json:"shop_domain,omitempty"`
	Customer       GDPRCustomer `json:"customer"`
	OrdersToRedact []ID         `json:"orders_to_redact,omitempty"`
}

// ShopRedact asks to erase a shop's data, 48 hours after uninstall
// (topic shop/redact).
type ShopRedact struct {
	ShopID     ID     `json:"shop_id"`
	ShopDomain string `json:"shop_domain,omitempty"`
}
