package brevo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/tajo/tajo/pipeline"
)

// AttrType is a contact attribute's type.
type AttrType string

// Attribute types tajo creates (all in the "normal" category).
const (
	AttrText    AttrType = "text"
	AttrFloat   AttrType = "float"
	AttrDate    AttrType = "date"
	AttrBoolean AttrType = "boolean"
)

// Attribute is one entry of GET /contacts/attributes.
type Attribute struct {
	Name     string   `json:"name"`
	Category string   `json:"category"`
	Type     AttrType `json:"type,omitempty"`
}

// ListAttributes returns every contact attribute of the account.
func (c *Client) ListAttributes(ctx context.Context) ([]Attribute, error) {
	var out struct {
		Attributes []Attribute `json:"attributes"`
	}
	if _, err := c.do(ctx, request{method: http.MethodGet, route: "GET /contacts/attributes", path: "/contacts/attributes", out: &out}); err != nil {
		return nil, err
	}
	return out.Attributes, nil
}

// CreateAttribute creates a "normal" contact attribute of type typ.
func (c *Client) CreateAttribute(ctx context.Context, name string, typ AttrType) error {
	return c.CreateAttributeIn(ctx, "normal", name, typ)
}

// CreateAttributeIn creates an attribute in the given category.
func (c *Client) CreateAttributeIn(ctx context.Context, category, name string, typ AttrType) error {
	if name == "" || category == "" {
		return pipeline.Reject("missing_parameter", errors.New("brevo: attribute name and category are required"))
	}
	path := "/contacts/attributes/" + url.PathEscape(category) + "/" + url.PathEscape(name)
	_, err := c.postJSON(ctx, "POST /contacts/attributes/{attributeCategory}/{attributeName}", path,
		struct {
			Type AttrType `json:"type,omitempty"`
		}{typ}, nil)
	return err
}

// EnsureAttributes makes every attribute of want exist with its type: it
// creates the missing ones and returns one Fatal error naming every attribute
// whose existing type differs, because Brevo silently drops values of the
// wrong type — a mapping writing a float into a text attribute would lose
// data on every record without a single error. Names compare
// case-insensitively, as Brevo upper-cases them.
func (c *Client) EnsureAttributes(ctx context.Context, want map[string]AttrType) error {
	have, err := c.ListAttributes(ctx)
	if err != nil {
		return fmt.Errorf("ensuring attributes: %w", err)
	}
	existing := make(map[string]Attribute, len(have))
	for _, a := range have {
		existing[strings.ToUpper(a.Name)] = a
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)

	var mismatches []string
	var missing []string
	for _, n := range names {
		a, ok := existing[strings.ToUpper(n)]
		if !ok {
			missing = append(missing, n)
			continue
		}
		if a.Type != want[n] {
			got := string(a.Type)
			if got == "" {
				got = "untyped " + a.Category
			}
			mismatches = append(mismatches, fmt.Sprintf("%s is %s, want %s", n, got, want[n]))
		}
	}
	if len(mismatches) > 0 {
		return pipeline.Stop(fmt.Errorf(
			"brevo contact attributes have the wrong type (%s): Brevo drops values of the wrong type, so change the mapping or delete and recreate these attributes in Brevo",
			strings.Join(mismatches, "; ")))
	}
	for _, n := range missing {
		if err := c.CreateAttribute(ctx, strings.ToUpper(n), want[n]); err != nil {
			return fmt.Errorf("creating attribute %s (%s): %w", n, want[n], err)
		}
	}
	return nil
}
