package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tajo/tajo/schemas"
)

// decoded is what a topic's decoder extracts from a body.
type decoded struct {
	data       any       // the canonical object, encoded into Event.Data
	entityID   string    // Entity.ID
	occurredAt time.Time // the payload's own time of the fact, zero if none
}

// A decodeFunc decodes one topic's body leniently: what it could not read
// is appended to problems (and left out of data). An error means the
// delivery cannot be processed at all (no entity id, not an object): it
// becomes a delivery_unprocessable event with the error as its reason.
type decodeFunc func(body []byte, problems *[]string) (decoded, error)

var errMissingID = errors.New(`missing or zero "id"`)

// unmarshal decodes a body into v leniently (lenientUnmarshal).
// encoding/json decodes integers straight into the int64 of schemas.ID (no
// float64 on the way), so ids above 2^53 stay exact.
func unmarshal(body []byte, v any, problems *[]string) error {
	p, err := lenientUnmarshal(body, v)
	*problems = append(*problems, p...)
	return err
}

// flagEmail marks a customer kept without an email so sinks keyed by email
// can reject it with a reason rather than an empty identifier.
func flagEmail(c *schemas.Customer) {
	if c != nil {
		c.Email = strings.TrimSpace(c.Email)
		c.MissingEmail = c.Email == ""
	}
}

func decodeCustomer(body []byte, pr *[]string) (decoded, error) {
	var c schemas.Customer
	if err := unmarshal(body, &c, pr); err != nil {
		return decoded{}, err
	}
	if c.ID == 0 {
		return decoded{}, errMissingID
	}
	flagEmail(&c)
	return decoded{data: &c, entityID: c.ID.String(), occurredAt: c.UpdatedAt}, nil
}

func decodeDeletion(body []byte, pr *[]string) (decoded, error) {
	var d schemas.Deletion
	if err := unmarshal(body, &d, pr); err != nil {
		return decoded{}, err
	}
	switch {
	case d.ID != 0:
		return decoded{data: &d, entityID: d.ID.String()}, nil
	case d.Token != "":
		return decoded{data: &d, entityID: d.Token}, nil
	}
	return decoded{}, errMissingID
}

func decodeEmailConsent(body []byte, pr *[]string) (decoded, error) {
	var u schemas.EmailConsentUpdate
	if err := unmarshal(body, &u, pr); err != nil {
		return decoded{}, err
	}
	if u.CustomerID == 0 {
		return decoded{}, errors.New(`missing or zero "customer_id"`)
	}
	var at time.Time
	if c := u.EmailMarketingConsent; c != nil && c.ConsentUpdatedAt != nil {
		at = *c.ConsentUpdatedAt
	}
	return decoded{data: &u, entityID: u.CustomerID.String(), occurredAt: at}, nil
}

func decodeSMSConsent(body []byte, pr *[]string) (decoded, error) {
	// Shopify names the customer "id" in this payload only.
	var w struct {
		ID                  schemas.ID                   `json:"id"`
		CustomerID          schemas.ID                   `json:"customer_id"`
		Phone               string                       `json:"phone"`
		SMSMarketingConsent *schemas.SMSMarketingConsent `json:"sms_marketing_consent"`
	}
	if err := unmarshal(body, &w, pr); err != nil {
		return decoded{}, err
	}
	u := schemas.SMSConsentUpdate{CustomerID: w.ID, Phone: w.Phone, SMSMarketingConsent: w.SMSMarketingConsent}
	if u.CustomerID == 0 {
		u.CustomerID = w.CustomerID
	}
	if u.CustomerID == 0 {
		return decoded{}, errMissingID
	}
	var at time.Time
	if c := u.SMSMarketingConsent; c != nil && c.ConsentUpdatedAt != nil {
		at = *c.ConsentUpdatedAt
	}
	return decoded{data: &u, entityID: u.CustomerID.String(), occurredAt: at}, nil
}

// customerRef reads the customer of the GraphQL-style topics, which name it
// customerId (a GID or a number); customer_id is accepted too.
type customerRef struct {
	CustomerID  schemas.ID `json:"customerId"`
	CustomerID2 schemas.ID `json:"customer_id"`
}

func (r customerRef) id() (schemas.ID, error) {
	if r.CustomerID != 0 {
		return r.CustomerID, nil
	}
	if r.CustomerID2 != 0 {
		return r.CustomerID2, nil
	}
	return 0, errors.New(`missing or zero "customerId"`)
}

func decodeTags(action string) decodeFunc {
	return func(body []byte, pr *[]string) (decoded, error) {
		var w struct {
			customerRef
			Tags       schemas.Tags `json:"tags"`
			OccurredAt time.Time    `json:"occurredAt"`
		}
		if err := unmarshal(body, &w, pr); err != nil {
			return decoded{}, err
		}
		id, err := w.id()
		if err != nil {
			return decoded{}, err
		}
		tags := w.Tags
		if tags == nil {
			tags = schemas.Tags{}
		}
		c := schemas.CustomerTagsChange{CustomerID: id, Action: action, Tags: tags, OccurredAt: w.OccurredAt}
		return decoded{data: &c, entityID: id.String(), occurredAt: w.OccurredAt}, nil
	}
}

func decodePurchasingSummary(body []byte, pr *[]string) (decoded, error) {
	var w struct {
		customerRef
		AmountSpent    json.RawMessage `json:"amountSpent"`
		NumberOfOrders *schemas.Count  `json:"numberOfOrders"`
		LastOrderID    schemas.ID      `json:"lastOrderId"`
		OccurredAt     time.Time       `json:"occurredAt"`
	}
	if err := unmarshal(body, &w, pr); err != nil {
		return decoded{}, err
	}
	id, err := w.id()
	if err != nil {
		return decoded{}, err
	}
	s := schemas.PurchasingSummary{
		CustomerID: id, NumberOfOrders: w.NumberOfOrders,
		LastOrderID: w.LastOrderID, OccurredAt: w.OccurredAt,
	}
	if s.AmountSpent, s.Currency, err = decodeMoneyV2(w.AmountSpent); err != nil {
		*pr = append(*pr, "amountSpent: cannot read "+clipValue(w.AmountSpent)+" as a decimal amount")
	}
	return decoded{data: &s, entityID: id.String(), occurredAt: w.OccurredAt}, nil
}

// decodeMoneyV2 reads GraphQL's MoneyV2 {amount, currencyCode} or a bare
// amount (string or number).
func decodeMoneyV2(raw json.RawMessage) (*schemas.Money, string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, "", nil
	}
	if raw[0] == '{' {
		var m struct {
			Amount       *schemas.Money `json:"amount"`
			CurrencyCode string         `json:"currencyCode"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "", err
		}
		return m.Amount, m.CurrencyCode, nil
	}
	var m schemas.Money
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "", err
	}
	return &m, "", nil
}

func decodeOrder(body []byte, pr *[]string) (decoded, error) {
	var o schemas.Order
	if err := unmarshal(body, &o, pr); err != nil {
		return decoded{}, err
	}
	if o.ID == 0 {
		return decoded{}, errMissingID
	}
	flagEmail(o.Customer)
	return decoded{data: &o, entityID: o.ID.String(), occurredAt: o.UpdatedAt}, nil
}

func decodeRefund(body []byte, pr *[]string) (decoded, error) {
	var r schemas.Refund
	if err := unmarshal(body, &r, pr); err != nil {
		return decoded{}, err
	}
	if r.ID == 0 {
		return decoded{}, errMissingID
	}
	at := r.CreatedAt
	if at.IsZero() {
		at = r.ProcessedAt
	}
	return decoded{data: &r, entityID: r.ID.String(), occurredAt: at}, nil
}

func decodeFulfillment(body []byte, pr *[]string) (decoded, error) {
	var f schemas.Fulfillment
	if err := unmarshal(body, &f, pr); err != nil {
		return decoded{}, err
	}
	if f.ID == 0 {
		return decoded{}, errMissingID
	}
	return decoded{data: &f, entityID: f.ID.String(), occurredAt: f.UpdatedAt}, nil
}

func decodeCheckout(body []byte, pr *[]string) (decoded, error) {
	var c schemas.Checkout
	if err := unmarshal(body, &c, pr); err != nil {
		return decoded{}, err
	}
	flagEmail(c.Customer)
	switch {
	case c.ID != 0:
		return decoded{data: &c, entityID: c.ID.String(), occurredAt: c.UpdatedAt}, nil
	case c.Token != "":
		return decoded{data: &c, entityID: c.Token, occurredAt: c.UpdatedAt}, nil
	}
	return decoded{}, errors.New(`missing both "id" and "token"`)
}

func decodeCart(body []byte, pr *[]string) (decoded, error) {
	var c schemas.Cart
	if err := unmarshal(body, &c, pr); err != nil {
		return decoded{}, err
	}
	switch {
	case c.ID != "":
		return decoded{data: &c, entityID: string(c.ID), occurredAt: c.UpdatedAt}, nil
	case c.Token != "":
		return decoded{data: &c, entityID: c.Token, occurredAt: c.UpdatedAt}, nil
	}
	return decoded{}, errors.New(`missing both "id" and "token"`)
}

func decodeProduct(body []byte, pr *[]string) (decoded, error) {
	var p schemas.Product
	if err := unmarshal(body, &p, pr); err != nil {
		return decoded{}, err
	}
	if p.ID == 0 {
		return decoded{}, errMissingID
	}
	return decoded{data: &p, entityID: p.ID.String(), occurredAt: p.UpdatedAt}, nil
}

func decodeInventoryLevel(body []byte, pr *[]string) (decoded, error) {
	var l schemas.InventoryLevel
	if err := unmarshal(body, &l, pr); err != nil {
		return decoded{}, err
	}
	if l.InventoryItemID == 0 || l.LocationID == 0 {
		return decoded{}, errors.New(`missing or zero "inventory_item_id" or "location_id"`)
	}
	return decoded{data: &l, entityID: l.Key(), occurredAt: l.UpdatedAt}, nil
}

func decodeInventoryItem(body []byte, pr *[]string) (decoded, error) {
	var it schemas.InventoryItem
	if err := unmarshal(body, &it, pr); err != nil {
		return decoded{}, err
	}
	if it.ID == 0 {
		return decoded{}, errMissingID
	}
	return decoded{data: &it, entityID: it.ID.String(), occurredAt: it.UpdatedAt}, nil
}

// The shop-level and compliance topics never fail for a missing id: they
// are about the shop of the delivery, and a compliance request refused with
// a 400 would be a request never honoured. Their time is the delivery's
// (the payload's updated_at says when the shop last changed, not when the
// app was uninstalled).

func decodeShop(body []byte, pr *[]string) (decoded, error) {
	var s schemas.Shop
	if err := unmarshal(body, &s, pr); err != nil {
		return decoded{}, err
	}
	return decoded{data: &s, entityID: idOrEmpty(s.ID)}, nil
}

func decodeDataRequest(body []byte, pr *[]string) (decoded, error) {
	var r schemas.CustomerDataRequest
	if err := unmarshal(body, &r, pr); err != nil {
		return decoded{}, err
	}
	return decoded{data: &r, entityID: idOrEmpty(r.Customer.ID)}, nil
}

func decodeCustomerRedact(body []byte, pr *[]string) (decoded, error) {
	var r schemas.CustomerRedact
	if err := unmarshal(body, &r, pr); err != nil {
		return decoded{}, err
	}
	return decoded{data: &r, entityID: idOrEmpty(r.Customer.ID)}, nil
}

func decodeShopRedact(body []byte, pr *[]string) (decoded, error) {
	var r schemas.ShopRedact
	if err := unmarshal(body, &r, pr); err != nil {
		return decoded{}, err
	}
	return decoded{data: &r, entityID: idOrEmpty(r.ShopID)}, nil
}

func idOrEmpty(id schemas.ID) string {
	if id == 0 {
		return ""
	}
	return id.String()
}
