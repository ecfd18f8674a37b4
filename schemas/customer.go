package schemas

import "time"

// Customer is a shop's customer. Field names follow Shopify's REST and
// webhook payloads, so a payload decodes straight into it and a mapping
// author can read Shopify's reference for their meaning.
//
// Two payload generations occur in the wild and both decode: before API
// 2025-01 customer webhooks carried tags, consent and the legacy
// accepts_marketing / orders_count / total_spent; from 2025-01 they carry
// none of these, which then arrive on their own topics (EmailConsentUpdate,
// SMSConsentUpdate, CustomerTagsChange, PurchasingSummary). Fields a payload
// did not carry stay nil or empty: absent is not "false" or "0".
type Customer struct {
	ID                ID     `json:"id"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id,omitempty"`
	Email             string `json:"email,omitempty"`
	// MissingEmail is set by the source when a (non-deleted) customer has no
	// email: the record is kept, and sinks keyed by email can reject it with
	// a clear reason instead of failing on an empty identifier.
	MissingEmail  bool      `json:"missing_email,omitempty"`
	Phone         string    `json:"phone,omitempty"`
	FirstName     string    `json:"first_name,omitempty"`
	LastName      string    `json:"last_name,omitempty"`
	State         string    `json:"state,omitempty"`
	Note          string    `json:"note,omitempty"`
	Currency      string    `json:"currency,omitempty"`
	Locale        string    `json:"locale,omitempty"`
	VerifiedEmail bool      `json:"verified_email,omitempty"`
	TaxExempt     bool      `json:"tax_exempt,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`

	Tags           Tags      `json:"tags,omitempty"`
	Addresses      []Address `json:"addresses,omitempty"`
	DefaultAddress *Address  `json:"default_address,omitempty"`

	EmailMarketingConsent *EmailMarketingConsent `json:"email_marketing_consent,omitempty"`
	SMSMarketingConsent   *SMSMarketingConsent   `json:"sms_marketing_consent,omitempty"`

	// Legacy fields (deprecated by Shopify in 2022-04, absent from customer
	// webhooks since 2025-01), kept when a payload still carries them.
	AcceptsMarketing          *bool      `json:"accepts_marketing,omitempty"`
	AcceptsMarketingUpdatedAt *time.Time `json:"accepts_marketing_updated_at,omitempty"`
	MarketingOptInLevel       string     `json:"marketing_opt_in_level,omitempty"`
	OrdersCount               *Count     `json:"orders_count,omitempty"`
	TotalSpent                *Money     `json:"total_spent,omitempty"`
	LastOrderID               ID         `json:"last_order_id,omitempty"`
	LastOrderName             string     `json:"last_order_name,omitempty"`
}

// Consent states as Shopify writes them in REST and webhook payloads.
const (
	ConsentSubscribed    = "subscribed"
	ConsentNotSubscribed = "not_subscribed"
	ConsentUnsubscribed  = "unsubscribed"
	ConsentPending       = "pending"
	ConsentRedacted      = "redacted"
	ConsentInvalid       = "invalid"
)

// EmailMarketingConsent is Shopify's email consent record.
type EmailMarketingConsent struct {
	State            string     `json:"state,omitempty"`
	OptInLevel       string     `json:"opt_in_level,omitempty"`
	ConsentUpdatedAt *time.Time `json:"consent_updated_at,omitempty"`
}

// SMSMarketingConsent is Shopify's SMS consent record.
type SMSMarketingConsent struct {
	State                string     `json:"state,omitempty"`
	OptInLevel           string     `json:"opt_in_level,omitempty"`
	ConsentUpdatedAt     *time.Time `json:"consent_updated_at,omitempty"`
	ConsentCollectedFrom string     `json:"consent_collected_from,omitempty"`
}

// EmailMarketingState is the customer's email consent state: the consent
// record when the payload has one, else derived from the legacy
// accepts_marketing flag, else "" (unknown: the payload did not say, which
// must not be read as an opt-out).
func (c *Customer) EmailMarketingState() string {
	if c.EmailMarketingConsent != nil && c.EmailMarketingConsent.State != "" {
		return c.EmailMarketingConsent.State
	}
	if c.AcceptsMarketing != nil {
		if *c.AcceptsMarketing {
			return ConsentSubscribed
		}
		return ConsentNotSubscribed
	}
	return ""
}

// Address is a postal address of a customer or an order.
type Address struct {
	ID           ID     `json:"id,omitempty"`
	CustomerID   ID     `json:"customer_id,omitempty"`
	FirstName    string `json:"first_name,omitempty"`
	LastName     string `json:"last_name,omitempty"`
	Name         string `json:"name,omitempty"`
	Company      string `json:"company,omitempty"`
	Address1     string `json:"address1,omitempty"`
	Address2     string `json:"address2,omitempty"`
	City         string `json:"city,omitempty"`
	Province     string `json:"province,omitempty"`
	ProvinceCode string `json:"province_code,omitempty"`
	Country      string `json:"country,omitempty"`
	CountryCode  string `json:"country_code,omitempty"`
	CountryName  string `json:"country_name,omitempty"`
	Zip          string `json:"zip,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Default      bool   `json:"default,omitempty"`
}
