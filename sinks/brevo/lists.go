package brevo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tajo/tajo/pipeline"
)

// ListResult merges the per-call answers of a chunked list operation.
// Failure holds the contacts Brevo did not add or remove (unknown contacts,
// or already in / not in the list); ids are given in decimal.
type ListResult struct {
	Success []string
	Failure []string
	Calls   int
}

// flexStrings decodes an array whose items are emails or numeric ids.
type flexStrings []string

func (f *flexStrings) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			*f = append(*f, s)
			continue
		}
		var n json.Number
		if err := json.Unmarshal(r, &n); err != nil {
			return fmt.Errorf("list member %s is neither a string nor a number", r)
		}
		*f = append(*f, n.String())
	}
	return nil
}

// AddToList adds contacts (by email) to a list, MaxListContactsPerCall per
// request.
func (c *Client) AddToList(ctx context.Context, listID int64, emails []string) (ListResult, error) {
	return c.listOp(ctx, listID, "add", emails, nil)
}

// AddIDsToList adds contacts by Brevo contact id.
func (c *Client) AddIDsToList(ctx context.Context, listID int64, ids []int64) (ListResult, error) {
	return c.listOp(ctx, listID, "add", nil, ids)
}

// RemoveFromList removes contacts (by email) from a list.
func (c *Client) RemoveFromList(ctx context.Context, listID int64, emails []string) (ListResult, error) {
	return c.listOp(ctx, listID, "remove", emails, nil)
}

// RemoveIDsFromList removes contacts by Brevo contact id.
func (c *Client) RemoveIDsFromList(ctx context.Context, listID int64, ids []int64) (ListResult, error) {
	return c.listOp(ctx, listID, "remove", nil, ids)
}

// listOp sends the chunks in order and stops at the first failure. Adding
// or removing a member twice is harmless, so the caller may simply retry the
// whole operation.
func (c *Client) listOp(ctx context.Context, listID int64, op string, emails []string, ids []int64) (ListResult, error) {
	var res ListResult
	if listID <= 0 {
		return res, pipeline.Reject("invalid_parameter", fmt.Errorf("brevo: list id %d is not valid", listID))
	}
	n := len(emails)
	if ids != nil {
		n = len(ids)
	}
	if n == 0 {
		return res, nil
	}
	route := "POST /contacts/lists/{listId}/contacts/" + op
	path := "/contacts/lists/" + strconv.FormatInt(listID, 10) + "/contacts/" + op
	for _, r := range chunk(n, MaxListContactsPerCall) {
		var body any
		if ids != nil {
			body = struct {
				IDs []int64 `json:"ids"`
			}{ids[r[0]:r[1]]}
		} else {
			body = struct {
				Emails []string `json:"emails"`
			}{emails[r[0]:r[1]]}
		}
		var out struct {
			Contacts struct {
				Success flexStrings `json:"success"`
				Failure flexStrings `json:"failure"`
			} `json:"contacts"`
		}
		if _, err := c.postJSON(ctx, route, path, body, &out); err != nil {
			if res.Calls > 0 {
				err = fmt.Errorf("after %d of %d members: %w", r[0], n, err)
			}
			return res, err
		}
		res.Calls++
		res.Success = append(res.Success, out.Contacts.Success...)
		res.Failure = append(res.Failure, out.Contacts.Failure...)
	}
	return res, nil
}

// CheckLists makes sure every list exists (GET /contacts/lists/{listId}).
// A missing one is Fatal: each contact added to it would be refused, and
// a configuration error must stop the pipeline, not fill the error
// history.
func (c *Client) CheckLists(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		_, err := c.do(ctx, request{method: http.MethodGet, route: "GET /contacts/lists/{listId}",
			path: "/contacts/lists/" + strconv.FormatInt(id, 10)})
		if IsNotFound(err) {
			return pipeline.Stop(fmt.Errorf("brevo list %d does not exist: create it in Brevo → Contacts → Lists, or fix the id in connectors.shopify.lists (or stores[].lists, sinks.brevo.lists, sinks.brevo.lists_by_shop)", id))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
