package brevo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tajo/tajo/pipeline"
)

// IdentifierType tells Brevo how to read the {identifier} of a contact path.
type IdentifierType string

// Identifier types of GET/PUT/DELETE /contacts/{identifier}. The zero value
// lets Brevo guess (email or numeric id), which is ambiguous for an ext_id
// made of digits, so tajo always names the type.
const (
	ByEmail     IdentifierType = "email_id"
	ByContactID IdentifierType = "contact_id"
	ByExtID     IdentifierType = "ext_id"
	ByPhone     IdentifierType = "phone_id"
)

// Contact is the body of POST /contacts. Attributes use Brevo's upper-case
// names; values must match the attribute's type or Brevo silently drops them.
type Contact struct {
	Email            string         `json:"email,omitempty"`
	ExtID            string         `json:"ext_id,omitempty"`
	Attributes       map[string]any `json:"attributes,omitempty"`
	EmailBlacklisted *bool          `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   *bool          `json:"smsBlacklisted,omitempty"`
	ListIDs          []int64        `json:"listIds,omitempty"`
	UpdateEnabled    bool           `json:"updateEnabled,omitempty"`
}

// ContactUpdate is the body of PUT /contacts/{identifier}. To change the
// email, set Attributes["EMAIL"] — and read consent.go first: Brevo removes
// the email blocklisting of a contact whose email changes.
type ContactUpdate struct {
	ExtID            string         `json:"ext_id,omitempty"`
	Attributes       map[string]any `json:"attributes,omitempty"`
	EmailBlacklisted *bool          `json:"emailBlacklisted,omitempty"`
	SMSBlacklisted   *bool          `json:"smsBlacklisted,omitempty"`
	ListIDs          []int64        `json:"listIds,omitempty"`
	UnlinkListIDs    []int64        `json:"unlinkListIds,omitempty"`
}

// ContactDetails is what GET /contacts/{identifier} returns (statistics are
// not decoded: tajo never reads them).
type ContactDetails struct {
	ID               int64          `json:"id"`
	Email            string         `json:"email"`
	ExtID            string         `json:"ext_id,omitempty"`
	EmailBlacklisted bool           `json:"emailBlacklisted"`
	SMSBlacklisted   bool           `json:"smsBlacklisted"`
	CreatedAt        string         `json:"createdAt"`
	ModifiedAt       string         `json:"modifiedAt"`
	ListIDs          []int64        `json:"listIds"`
	Attributes       map[string]any `json:"attributes"`
}

// UpsertResult says what POST /contacts did.
type UpsertResult struct {
	// Created is true on 201 (a new contact, ID set) and false on 204 (an
	// existing contact was updated; Brevo returns no id then).
	Created bool
	ID      int64
}

// Bool returns a pointer to b, for the optional blocklist flags.
func Bool(b bool) *bool { return &b }

// UpsertContact creates the contact or, because it forces updateEnabled,
// updates the existing one with the same email or ext_id. Upserts keep
// redelivery harmless (invariant 2).
func (c *Client) UpsertContact(ctx context.Context, ct Contact) (UpsertResult, error) {
	ct.UpdateEnabled = true
	return c.CreateContact(ctx, ct)
}

// CreateContact posts ct as given; without UpdateEnabled an existing email
// is a Rejected duplicate_parameter.
func (c *Client) CreateContact(ctx context.Context, ct Contact) (UpsertResult, error) {
	if ct.Email == "" && ct.Attributes["SMS"] == nil {
		return UpsertResult{}, pipeline.Reject("missing_parameter",
			errors.New("brevo POST /contacts: a contact needs an email or an SMS attribute"))
	}
	var out struct {
		ID int64 `json:"id"`
	}
	status, err := c.postJSON(ctx, "POST /contacts", "/contacts", ct, &out)
	if err != nil {
		return UpsertResult{}, err
	}
	return UpsertResult{Created: status == http.StatusCreated, ID: out.ID}, nil
}

func contactPath(id string, typ IdentifierType) (string, url.Values, error) {
	if id == "" {
		return "", nil, pipeline.Reject("missing_parameter", errors.New("brevo: empty contact identifier"))
	}
	var q url.Values
	if typ != "" {
		q = url.Values{"identifierType": {string(typ)}}
	}
	if typ == ByContactID {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return "", nil, pipeline.Reject("invalid_parameter", fmt.Errorf("brevo: contact id %q is not a number", id))
		}
	}
	return "/contacts/" + url.PathEscape(id), q, nil
}

// GetContact fetches a contact. A missing contact is a Rejected error for
// which IsNotFound is true.
func (c *Client) GetContact(ctx context.Context, id string, typ IdentifierType) (*ContactDetails, error) {
	path, q, err := contactPath(id, typ)
	if err != nil {
		return nil, err
	}
	var out ContactDetails
	if _, err := c.do(ctx, request{method: http.MethodGet, route: "GET /contacts/{identifier}", path: path, query: q, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateContact updates an existing contact (404 → Rejected, IsNotFound).
func (c *Client) UpdateContact(ctx context.Context, id string, typ IdentifierType, u ContactUpdate) error {
	path, q, err := contactPath(id, typ)
	if err != nil {
		return err
	}
	b, err := jsonMarshal(u)
	if err != nil {
		return fmt.Errorf("brevo PUT /contacts/{identifier}: encoding body: %w", err)
	}
	_, err = c.do(ctx, request{method: http.MethodPut, route: "PUT /contacts/{identifier}", path: path, query: q, body: b})
	return err
}

// DeleteContact deletes a contact. A contact that is already gone counts as
// deleted, so a redelivered delete (invariant 2) succeeds.
func (c *Client) DeleteContact(ctx context.Context, id string, typ IdentifierType) error {
	path, q, err := contactPath(id, typ)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, route: "DELETE /contacts/{identifier}", path: path, query: q})
	if IsNotFound(err) {
		return nil
	}
	return err
}

// MaxContactsPage is the most contacts one GET /contacts returns.
const MaxContactsPage = 1000

// ContactsQuery selects a page of GET /contacts, oldest first (sort=asc,
// by creation), so that contacts created while the pages are read land
// on later pages instead of shifting earlier ones.
type ContactsQuery struct {
	Limit  int64 // 1..MaxContactsPage; 0 is MaxContactsPage
	Offset int64
	// ModifiedSince lists only the contacts modified after it; zero lists
	// all.
	ModifiedSince time.Time
}

// ContactsPage is one page of GET /contacts. Count is the number of
// contacts that match the query, not the page's.
type ContactsPage struct {
	Contacts []ContactDetails `json:"contacts"`
	Count    int64            `json:"count"`
}

// ListContacts reads one page of the account's contacts.
func (c *Client) ListContacts(ctx context.Context, q ContactsQuery) (*ContactsPage, error) {
	if q.Limit <= 0 || q.Limit > MaxContactsPage {
		q.Limit = MaxContactsPage
	}
	v := url.Values{"limit": {strconv.FormatInt(q.Limit, 10)}, "offset": {strconv.FormatInt(q.Offset, 10)}, "sort": {"asc"}}
	if !q.ModifiedSince.IsZero() {
		v.Set("modifiedSince", q.ModifiedSince.UTC().Format("2006-01-02T15:04:05.000Z"))
	}
	var out ContactsPage
	if _, err := c.do(ctx, request{method: http.MethodGet, route: "GET /contacts", path: "/contacts", query: v, out: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// extIDOf is the contact's ext_id: the field, or the EXT_ID attribute an
// account may show it as (a text one only: a number decoded as float64
// would round a Shopify id above 2^53).
func (d *ContactDetails) extIDOf() string {
	if d.ExtID != "" {
		return d.ExtID
	}
	v, _ := d.Attributes["EXT_ID"].(string)
	return v
}
