package shopify

import (
	"context"
	"fmt"
	"time"

	"github.com/tajo/tajo/pipeline"
	"github.com/tajo/tajo/schemas"
	"github.com/tajo/tajo/sources/shopify/admin"
)

// A customers/delete body is only an id, so the shape check
// (destructive.go) cannot tell a real deletion from another topic's signed
// {"id": N} (orders/delete, products/delete, …) posted again under the
// deletion header. With an access token there is a witness: after a real
// deletion, the Admin API has no customer N. confirmDeletion asks it
// before the contact is erased downstream.

// confirmBudget bounds the Admin API question, inside the 5 s Shopify
// gives a webhook answer.
const confirmBudget = 3 * time.Second

// customerExistsQuery answers {"customer": null} for a deleted customer.
const customerExistsQuery = `query CustomerExists($id: ID!) { customer(id: $id) { id } }`

// deletionClient is the Admin API client confirmDeletion asks for st, or
// nil when st has no access token (the deletion is then believed on its
// shape alone).
func deletionClient(st Store) *admin.Client {
	if st.AccessToken == "" {
		return nil
	}
	c, err := admin.New(admin.Config{Shop: st.ShopURL, AccessToken: st.AccessToken.Reveal(), APIVersion: st.APIVersion, AdminURL: st.AdminURL,
		Timeout: confirmBudget, MaxRetries: 1, BackoffBase: 200 * time.Millisecond, BackoffMax: time.Second})
	if err != nil {
		return nil
	}
	return c
}

// confirmDeletion asks the store's Admin API whether the customer a
// customers/delete event names is gone. It returns the reason the event
// is not a deletion ("" when the Admin API confirms it, or when there is
// nothing to ask: no token, another topic), or a retryable error when the
// Admin API could not answer in time, for the webhook to be answered 503
// and redelivered by Shopify. An answer that cannot pass with time (the
// token refused, a scope missing) is a reason: the delivery goes to the
// error history, for `tajo replay` once the token is fixed.
func confirmDeletion(ctx context.Context, client *admin.Client, ev *schemas.Event) (string, error) {
	if client == nil || ev.Topic != "customers/delete" || ev.Type != schemas.TypeCustomerDeleted {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, confirmBudget)
	defer cancel()
	var out struct {
		Customer *struct {
			ID string `json:"id"`
		} `json:"customer"`
	}
	gid := "gid://shopify/Customer/" + ev.Entity.ID
	err := client.Do(ctx, customerExistsQuery, map[string]any{"id": gid}, 1, &out)
	switch {
	case err != nil && pipeline.ClassOf(err) == pipeline.Retryable:
		return "", err
	case err != nil:
		return fmt.Sprintf("customers/delete: the Admin API could not confirm that customer %s is gone (%v): not acted on", ev.Entity.ID, err), nil
	case out.Customer != nil:
		return fmt.Sprintf("customers/delete: the Admin API still has customer %s: not a deletion (a signed body of another topic sent under the customers/delete header?)", ev.Entity.ID), nil
	}
	return "", nil
}
