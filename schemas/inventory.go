package schemas

import (
	"fmt"
	"time"
)

// InventoryLevel is the quantity of one inventory item at one location.
// It has no id of its own: it is identified by the pair (item, location).
type InventoryLevel struct {
	InventoryItemID   ID     `json:"inventory_item_id"`
	LocationID        ID     `json:"location_id"`
	AdminGraphQLAPIID string `json:"admin_graphql_api_id,omitempty"`
	// Available is nil when the payload says null (e.g. untracked stock),
	// which is not the same as zero in stock.
	Available *int64    `json:"available,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Key identifies the level: "<inventory_item_id>:<location_id>".
func (l *InventoryLevel) Key() string {
	return fmt.Sprintf("%d:%d", l.InventoryItemID, l.LocationID)
}

// InventoryItem is the stock-keeping side of a variant (SKU, cost, origin).
type InventoryItem struct {
	ID                   ID        `json:"id"`
	AdminGraphQLAPIID    string    `json:"admin_graphql_api_id,omitempty"`
	SKU                  string    `json:"sku,omitempty"`
	Tracked              bool      `json:"tracked,omitempty"`
	RequiresShipping     bool      `json:"requires_shipping,omitempty"`
	Cost                 *Money    `json:"cost,omitempty"`
	CountryCodeOfOrigin  string    `json:"country_code_of_origin,omitempty"`
	ProvinceCodeOfOrigin string    `json:"province_code_of_origin,omitempty"`
	HarmonizedSystemCode Text      `json:"harmonized_system_code,omitempty"`
	CreatedAt            time.Time `json:"created_at,omitzero"`
	UpdatedAt            time.Time `json:"updated_at,omitzero"`
}
