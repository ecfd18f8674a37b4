package brevotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Order is an order status the simulator accepted.
type Order struct {
	ID          string
	CreatedAt   string
	UpdatedAt   string
	Status      string
	Amount      float64
	StoreID     string
	Email       string
	Identifiers map[string]string
	Products    []OrderProduct
	Billing     map[string]string
	Coupons     []string
	// Historical is the batch's flag; single orders are live (false) and may
	// trigger automations.
	Historical bool
	BatchID    int64 // 0 for POST /orders/status
}

// OrderProduct is one line of an order.
type OrderProduct struct {
	ProductID string
	VariantID string
	Quantity  float64
	Price     float64
}

type orderBody struct {
	ID          *string           `json:"id"`
	CreatedAt   *string           `json:"createdAt"`
	UpdatedAt   *string           `json:"updatedAt"`
	Status      *string           `json:"status"`
	Amount      *json.Number      `json:"amount"`
	StoreID     string            `json:"storeId"`
	Email       string            `json:"email"`
	Identifiers map[string]string `json:"identifiers"`
	Products    []struct {
		ProductID     *string      `json:"productId"`
		VariantID     string       `json:"variantId"`
		Quantity      *json.Number `json:"quantity"`
		QuantityFloat *json.Number `json:"quantityFloat"`
		Price         *json.Number `json:"price"`
	} `json:"products"`
	Billing  map[string]string `json:"billing"`
	Coupons  []string          `json:"coupons"`
	MetaInfo map[string]any    `json:"metaInfo"`
}

func checkOrder(b *orderBody) (Order, string) {
	var o Order
	for _, f := range []struct {
		name string
		v    *string
	}{{"id", b.ID}, {"createdAt", b.CreatedAt}, {"updatedAt", b.UpdatedAt}, {"status", b.Status}} {
		if f.v == nil || *f.v == "" {
			return o, f.name + " is required"
		}
	}
	if b.Amount == nil {
		return o, "amount is required"
	}
	for _, d := range []string{*b.CreatedAt, *b.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, d); err != nil {
			return o, "createdAt and updatedAt must be UTC date-times (YYYY-MM-DDTHH:mm:ssZ)"
		}
	}
	if len(b.Products) == 0 {
		return o, "products is required"
	}
	o = Order{ID: *b.ID, CreatedAt: *b.CreatedAt, UpdatedAt: *b.UpdatedAt, Status: *b.Status, StoreID: b.StoreID,
		Email: b.Email, Identifiers: b.Identifiers, Billing: b.Billing, Coupons: b.Coupons}
	o.Amount, _ = b.Amount.Float64()
	for i, p := range b.Products {
		q := p.Quantity
		if q == nil {
			q = p.QuantityFloat
		}
		if p.ProductID == nil || *p.ProductID == "" || q == nil || p.Price == nil {
			return o, fmt.Sprintf("products[%d]: productId, quantity and price are required", i)
		}
		qf, _ := q.Float64()
		pf, _ := p.Price.Float64()
		o.Products = append(o.Products, OrderProduct{ProductID: *p.ProductID, VariantID: p.VariantID, Quantity: qf, Price: pf})
	}
	if o.Email != "" && !validEmail(o.Email) {
		return o, "Invalid email address"
	}
	if e := o.Identifiers["email_id"]; e != "" && !validEmail(e) {
		return o, "identifiers.email_id is not a valid email address"
	}
	if o.Email == "" && len(o.Identifiers) == 0 && o.Billing["phone"] == "" {
		return o, "email is mandatory when billing.phone is not passed"
	}
	return o, ""
}

func (s *Server) orderStatus(w http.ResponseWriter, r *http.Request) {
	var b orderBody
	if _, ok := s.decode(w, r, &b, maxBody); !ok {
		return
	}
	o, msg := checkOrder(&b)
	if msg != "" {
		s.reply(w, http.StatusBadRequest, "invalid_parameter", msg)
		return
	}
	s.mu.Lock()
	s.orders = append(s.orders, o)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) orderStatusBatch(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Orders     []orderBody `json:"orders"`
		Historical *bool       `json:"historical"`
		NotifyURL  string      `json:"notifyUrl"`
	}
	if _, ok := s.decode(w, r, &b, 10<<20); !ok {
		return
	}
	switch {
	case len(b.Orders) == 0:
		s.reply(w, http.StatusBadRequest, "missing_parameter", "orders is required")
		return
	case len(b.Orders) > 1000:
		s.reply(w, http.StatusBadRequest, "out_of_range", fmt.Sprintf("A batch holds at most 1000 orders, got %d", len(b.Orders)))
		return
	}
	historical := b.Historical == nil || *b.Historical
	orders := make([]Order, 0, len(b.Orders))
	for i := range b.Orders {
		o, msg := checkOrder(&b.Orders[i])
		if msg != "" {
			s.reply(w, http.StatusBadRequest, "invalid_parameter", fmt.Sprintf("orders[%d]: %s", i, msg))
			return
		}
		o.Historical = historical
		orders = append(orders, o)
	}
	s.mu.Lock()
	s.batches++
	id := s.batches
	for i := range orders {
		orders[i].BatchID = id
	}
	s.orders = append(s.orders, orders...)
	s.mu.Unlock()
	writeJSON(w, http.StatusAccepted, map[string]any{"batchId": id})
}

// Orders returns every accepted order status, in arrival order.
func (s *Server) Orders() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Order(nil), s.orders...)
}
