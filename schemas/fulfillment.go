package schemas

import "time"

// Fulfillment is a shipment of some or all of an order's line items.
type Fulfillment struct {
	ID                ID         `json:"id"`
	AdminGraphQLAPIID string     `json:"admin_graphql_api_id,omitempty"`
	OrderID           ID         `json:"order_id,omitempty"`
	Name              string     `json:"name,omitempty"`
	Status            string     `json:"status,omitempty"`
	ShipmentStatus    string     `json:"shipment_status,omitempty"`
	Service           string     `json:"service,omitempty"`
	Email             string     `json:"email,omitempty"`
	LocationID        ID         `json:"location_id,omitempty"`
	TrackingCompany   string     `json:"tracking_company,omitempty"`
	TrackingNumber    string     `json:"tracking_number,omitempty"`
	TrackingNumbers   []string   `json:"tracking_numbers,omitempty"`
	TrackingURL       string     `json:"tracking_url,omitempty"`
	TrackingURLs      []string   `json:"tracking_urls,omitempty"`
	Destination       *Address   `json:"destination,omitempty"`
	LineItems         []LineItem `json:"line_items,omitempty"`
	CreatedAt         time.Time  `json:"created_at,omitzero"`
	UpdatedAt         time.Time  `json:"updated_at,omitzero"`
}
