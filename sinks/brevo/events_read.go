package brevo

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// EventQuery filters GET /events, which lists custom events only. Start and
// End bound event_date and go together (Brevo refuses one without the
// other); Limit is 1-10000 (0: Brevo's default, 100).
type EventQuery struct {
	Names      []string
	ContactIDs []int64
	Start, End time.Time
	Limit      int
	Offset     int
}

// ListedEvent is one event of a GET /events page.
type ListedEvent struct {
	ContactID       int64          `json:"contact_id"`
	Date            string         `json:"event_date"`
	Name            string         `json:"event_name"`
	EventProperties map[string]any `json:"event_properties"`
}

// EventPage is one page of GET /events: newest event_date first, Count the
// total that matched the filters.
type EventPage struct {
	Events []ListedEvent `json:"events"`
	Count  int64         `json:"count"`
}

// ListEvents reads one page of GET /events.
func (c *Client) ListEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	v := url.Values{}
	for _, n := range q.Names {
		v.Add("event_name", n)
	}
	for _, id := range q.ContactIDs {
		v.Add("contact_id", strconv.FormatInt(id, 10))
	}
	if !q.Start.IsZero() || !q.End.IsZero() {
		v.Set("startDate", q.Start.UTC().Format(time.RFC3339))
		v.Set("endDate", q.End.UTC().Format(time.RFC3339))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	var page EventPage
	_, err := c.do(ctx, request{method: http.MethodGet, route: "GET /events", path: "/events", query: v, out: &page})
	return page, err
}
