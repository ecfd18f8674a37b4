package schemas

import "time"

// Product is a catalogue product with its variants and images.
type Product struct {
	ID                ID         `json:"id"`
	AdminGraphQLAPIID string     `json:"admin_graphql_api_id,omitempty"`
	Title             string     `json:"title,omitempty"`
	Handle            string     `json:"handle,omitempty"`
	BodyHTML          string     `json:"body_html,omitempty"`
	Vendor            string     `json:"vendor,omitempty"`
	ProductType       string     `json:"product_type,omitempty"`
	Status            string     `json:"status,omitempty"`
	PublishedScope    string     `json:"published_scope,omitempty"`
	Tags              Tags       `json:"tags,omitempty"`
	CreatedAt         time.Time  `json:"created_at,omitzero"`
	UpdatedAt         time.Time  `json:"updated_at,omitzero"`
	PublishedAt       *time.Time `json:"published_at,omitempty"`
	Variants          []Variant  `json:"variants,omitempty"`
	Options           []Option   `json:"options,omitempty"`
	Images            []Image    `json:"images,omitempty"`
	Image             *Image     `json:"image,omitempty"`
}

// Variant is one purchasable version of a product.
type Variant struct {
	ID                ID        `json:"id"`
	AdminGraphQLAPIID string    `json:"admin_graphql_api_id,omitempty"`
	ProductID         ID        `json:"product_id,omitempty"`
	Title             string    `json:"title,omitempty"`
	SKU               string    `json:"sku,omitempty"`
	Barcode           string    `json:"barcode,omitempty"`
	Position          int64     `json:"position,omitempty"`
	Price             Money     `json:"price"`
	CompareAtPrice    *Money    `json:"compare_at_price,omitempty"`
	Option1           string    `json:"option1,omitempty"`
	Option2           string    `json:"option2,omitempty"`
	Option3           string    `json:"option3,omitempty"`
	ImageID           ID        `json:"image_id,omitempty"`
	InventoryItemID   ID        `json:"inventory_item_id,omitempty"`
	InventoryQuantity *int64    `json:"inventory_quantity,omitempty"`
	InventoryPolicy   string    `json:"inventory_policy,omitempty"`
	Taxable           bool      `json:"taxable,omitempty"`
	CreatedAt         time.Time `json:"created_at,omitzero"`
	UpdatedAt         time.Time `json:"updated_at,omitzero"`
}

// Option is a product option such as Size, with its values.
type Option struct {
	ID        ID       `json:"id,omitempty"`
	ProductID ID       `json:"product_id,omitempty"`
	Name      string   `json:"name,omitempty"`
	Position  int64    `json:"position,omitempty"`
	Values    []string `json:"values,omitempty"`
}

// Image is a product image.
type Image struct {
	ID         ID        `json:"id,omitempty"`
	ProductID  ID        `json:"product_id,omitempty"`
	Position   int64     `json:"position,omitempty"`
	Src        string    `json:"src,omitempty"`
	Alt        string    `json:"alt,omitempty"`
	Width      int64     `json:"width,omitempty"`
	Height     int64     `json:"height,omitempty"`
	VariantIDs []ID      `json:"variant_ids,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}
