package schemas

import "time"

// Refund is money (and possibly goods) returned against an order.
type Refund struct {
	ID                ID               `json:"id"`
	AdminGraphQLAPIID string           `json:"admin_graphql_api_id,omitempty"`
	OrderID           ID               `json:"order_id"`
	Note              string           `json:"note,omitempty"`
	Restock           bool             `json:"restock,omitempty"`
	UserID            ID               `json:"user_id,omitempty"`
	CreatedAt         time.Time        `json:"created_at,omitzero"`
	ProcessedAt       time.Time        `json:"processed_at,omitzero"`
	RefundLineItems   []RefundLineItem `json:"refund_line_items,omitempty"`
	Transactions      []Transaction    `json:"transactions,omitempty"`
}

// RefundLineItem is the part of one order line a refund returns.
type RefundLineItem struct {
	ID          ID        `json:"id,omitempty"`
	LineItemID  ID        `json:"line_item_id"`
	Quantity    int64     `json:"quantity"`
	RestockType string    `json:"restock_type,omitempty"`
	LocationID  ID        `json:"location_id,omitempty"`
	Subtotal    Money     `json:"subtotal"`
	TotalTax    Money     `json:"total_tax"`
	LineItem    *LineItem `json:"line_item,omitempty"`
}

// Transaction is a payment movement on an order (a refund's money).
type Transaction struct {
	ID          ID         `json:"id"`
	OrderID     ID         `json:"order_id,omitempty"`
	ParentID    ID         `json:"parent_id,omitempty"`
	Kind        string     `json:"kind,omitempty"`
	Gateway     string     `json:"gateway,omitempty"`
	Status      string     `json:"status,omitempty"`
	Amount      Money      `json:"amount"`
	Currency    string     `json:"currency,omitempty"`
	Test        bool       `json:"test,omitempty"`
	CreatedAt   time.Time  `json:"created_at,omitzero"`
	ProcessedAt *time.Time `json:"processed_at,omitempty"`
}

// RefundedAmount is the money the refund returned: the sum of its
// successful refund transactions.
func (r *Refund) RefundedAmount() Money {
	var sum Money
	for _, t := range r.Transactions {
		if t.Kind == "refund" && t.Status == "success" {
			sum = Money{sum.Add(t.Amount.Decimal)}
		}
	}
	return sum
}
