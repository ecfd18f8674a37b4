package shopifytest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxRequestBody bounds a GraphQL request; real queries are a few KB.
const maxRequestBody = 1 << 20

type gqlRequest struct {
	Query     string                     `json:"query"`
	Variables map[string]json.RawMessage `json:"variables"`
	version   string                     // the API version of the endpoint
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

type throttleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

type cost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    *float64       `json:"actualQueryCost"`
	ThrottleStatus     throttleStatus `json:"throttleStatus"`
}

type gqlResponse struct {
	Data       any        `json:"data,omitempty"`
	Errors     []gqlError `json:"errors,omitempty"`
	Extensions struct {
		Cost cost `json:"cost"`
	} `json:"extensions"`
}

var (
	// rootFieldRE finds the first field of the operation: how the
	// simulator tells which query it was sent (a "simple matcher").
	rootFieldRE = regexp.MustCompile(`(?s)^[^{]*\{\s*(\w+)`)
	// nestedFirstRE finds nested connections with a literal page size,
	// whose size multiplies the cost of each node.
	nestedFirstRE = regexp.MustCompile(`\w+\(\s*first:\s*(\d+)`)
	filterRE      = regexp.MustCompile(`^updated_at:(>=|>)'?([^' ]+)'?$`)
)

func rootField(q string) string {
	m := rootFieldRE.FindStringSubmatch(q)
	if m == nil {
		return ""
	}
	return m[1]
}

// nestedCost is what each node's nested connections add: 2 + first per
// connection, as Shopify computes a connection's requested cost.
func nestedCost(q string) float64 {
	var c float64
	for _, m := range nestedFirstRE.FindAllStringSubmatch(q, -1) {
		n, _ := strconv.Atoi(m[1])
		c += 2 + float64(n)
	}
	return c
}

func (s *Store) serveGraphQL(w http.ResponseWriter, r *http.Request, version string) {
	s.mu.Lock()
	s.stats.Requests++
	if len(s.faults) > 0 {
		f := s.faults[0]
		s.faults = s.faults[1:]
		s.stats.Faults++
		s.mu.Unlock()
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		io.WriteString(w, f.Body)
		return
	}
	s.mu.Unlock()

	if r.Method != http.MethodPost {
		http.Error(w, `{"errors":"method not allowed"}`, http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != s.opts.AccessToken {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return
	}
	w.Header().Set("X-Shopify-API-Version", servedVersion(version))
	var req gqlRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequestBody)).Decode(&req); err != nil || req.Query == "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"errors":{"query":"Required parameter missing or invalid"}}`)
		return
	}

	req.version = version
	root := rootField(req.Query)
	var resp gqlResponse
	requested, run := s.plan(root, req)
	if run == nil {
		resp.Errors = []gqlError{{Message: fmt.Sprintf("Field '%s' doesn't exist on type 'QueryRoot'", root),
			Extensions: map[string]any{"code": "undefinedField"}}}
	} else if requested > s.opts.MaxQueryCost {
		resp.Errors = []gqlError{{Message: fmt.Sprintf("Query cost is %.0f, which exceeds the single query max cost limit (%.0f).", requested, s.opts.MaxQueryCost),
			Extensions: map[string]any{"code": "MAX_COST_EXCEEDED", "cost": requested, "maxCost": s.opts.MaxQueryCost}}}
	}
	resp.Extensions.Cost.RequestedQueryCost = requested

	s.mu.Lock()
	now := time.Now()
	s.available = math.Min(s.opts.MaxAvailable, s.available+now.Sub(s.lastRestore).Seconds()*s.opts.RestoreRate)
	s.lastRestore = now
	switch {
	case resp.Errors != nil:
	case requested > s.available:
		s.stats.Throttled++
		resp.Errors = []gqlError{{Message: "Throttled", Extensions: map[string]any{
			"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}}
	default:
		// Shopify reserves the requested cost up front and refunds the
		// difference once the actual cost is known.
		s.available -= requested
		data, actual, errs := run()
		s.available = math.Min(s.opts.MaxAvailable, s.available+requested-actual)
		s.stats.CostSpent += actual
		resp.Data, resp.Errors = data, errs
		resp.Extensions.Cost.ActualQueryCost = &actual
	}
	resp.Extensions.Cost.ThrottleStatus = throttleStatus{s.opts.MaxAvailable, math.Floor(s.available), s.opts.RestoreRate}
	s.mu.Unlock()

	writeJSON(w, resp)
}

// servedVersion falls forward like Shopify: a retired version is answered
// by the oldest supported one, which the client sees in the header.
func servedVersion(v string) string {
	const oldest = "2025-10"
	if v != "unstable" && v < oldest {
		return oldest
	}
	return v
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// runFunc executes an accepted query (with s.mu held) and returns its data,
// its actual cost and any GraphQL errors.
type runFunc func() (any, float64, []gqlError)

func failed(msg, code string) runFunc {
	return func() (any, float64, []gqlError) {
		return nil, 1, []gqlError{{Message: msg, Extensions: map[string]any{"code": code}}}
	}
}

// plan prices a query before it runs, as Shopify does, and returns how to
// run it; run is nil for an unknown root field.
func (s *Store) plan(root string, req gqlRequest) (float64, runFunc) {
	if c, ok := s.connection(root); ok {
		var first int
		if err := json.Unmarshal(req.Variables["first"], &first); err != nil || first < 1 || first > 250 {
			return 2, failed("Variable $first: want an integer between 1 and 250", "BAD_USER_INPUT")
		}
		return 2 + float64(first)*(1+nestedCost(req.Query)), func() (any, float64, []gqlError) {
			return s.page(c, req, first)
		}
	}
	switch root {
	case "bulkOperationRunQuery":
		return 10, func() (any, float64, []gqlError) { return s.runBulk(req), 10, nil }
	case "node":
		if id, _ := strVar(req, "id"); !strings.HasPrefix(id, "gid://shopify/BulkOperation/") {
			return 1 + nestedCost(req.Query), func() (any, float64, []gqlError) { return s.nestedPage(req) }
		}
		return 1, func() (any, float64, []gqlError) { return s.pollBulk(root, req), 1, nil }
	case "currentBulkOperation":
		return 1, func() (any, float64, []gqlError) { return s.pollBulk(root, req), 1, nil }
	case "currentAppInstallation":
		return 1, func() (any, float64, []gqlError) { return s.appInstallation(), 1, nil }
	case "customer":
		return 1, func() (any, float64, []gqlError) { return s.customerByID(req) }
	}
	return 1, nil
}

// appInstallation is the installation of the app the access token
// belongs to, as currentAppInstallation answers it.
func (s *Store) appInstallation() any {
	return map[string]any{"currentAppInstallation": map[string]any{
		"id":  "gid://shopify/AppInstallation/1",
		"app": map[string]any{"id": "gid://shopify/App/1", "apiKey": s.opts.APIKey},
	}}
}

// customerByID answers customer(id: $id): the customer, or null for one
// the store never had or deleted (DeleteCustomer), as Shopify answers
// after a deletion. It runs under s.mu, as every plan's run does.
func (s *Store) customerByID(req gqlRequest) (any, float64, []gqlError) {
	id, err := strVar(req, "id")
	if err != nil {
		return nil, 1, []gqlError{{Message: err.Error(), Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "gid://shopify/Customer/"), 10, 64)
	i := n - customerBase
	if err != nil || !strings.HasPrefix(id, "gid://shopify/Customer/") || i < 0 || i >= int64(s.opts.Customers) || s.deleted[n] {
		return map[string]any{"customer": nil}, 1, nil
	}
	return map[string]any{"customer": customerNode(s.CustomerAt(int(i)))}, 1, nil
}

func strVar(req gqlRequest, name string) (string, error) {
	raw, ok := req.Variables[name]
	if !ok || string(raw) == "null" {
		return "", nil
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", fmt.Errorf("Variable $%s: want a string", name)
	}
	return v, nil
}

// parseFilter reads the one search term the simulator supports,
// updated_at:>'ts' or updated_at:>='ts'; an empty query selects everything.
func parseFilter(q string) (since time.Time, inclusive bool, err error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return time.Time{}, true, nil
	}
	m := filterRE.FindStringSubmatch(q)
	if m == nil {
		return time.Time{}, false, fmt.Errorf("simulator: unsupported search query %q (only updated_at:>'ts' and >=)", q)
	}
	t, err := time.Parse(time.RFC3339Nano, m[2])
	if err != nil {
		if t, err = time.Parse("2006-01-02", m[2]); err != nil {
			return time.Time{}, false, fmt.Errorf("simulator: bad timestamp %q in search query", m[2])
		}
	}
	return t, m[1] == ">=", nil
}

// firstIndex is the first object whose updated_at passes the filter; it
// relies on generated updated_at being non-decreasing in the index.
func firstIndex(c conn, since time.Time, inclusive bool) int {
	if since.IsZero() {
		return 0
	}
	return sort.Search(c.count, func(i int) bool {
		u := c.updatedAt(i)
		return u.After(since) || inclusive && u.Equal(since)
	})
}

func encodeCursor(root string, i int) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s:%d", root, i))
}

func decodeCursor(root, cur string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil {
		return 0, false
	}
	r, n, ok := strings.Cut(string(b), ":")
	i, err := strconv.Atoi(n)
	return i, ok && r == root && err == nil && i >= 0
}

type pageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

type page struct {
	Nodes    []any    `json:"nodes"`
	PageInfo pageInfo `json:"pageInfo"`
}

func (s *Store) page(c conn, req gqlRequest, first int) (any, float64, []gqlError) {
	bad := func(msg string) (any, float64, []gqlError) {
		return nil, 1, []gqlError{{Message: msg, Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}
	}
	sortKey, err := strVar(req, "sortKey")
	if err != nil {
		return bad(err.Error())
	}
	if sortKey != "" && !c.sortKeys[sortKey] {
		return bad(fmt.Sprintf("Argument 'sortKey' on Field '%s' has an invalid value (%s).", c.root, sortKey))
	}
	q, err := strVar(req, "query")
	if err != nil {
		return bad(err.Error())
	}
	since, inclusive, err := parseFilter(q)
	if err != nil {
		return bad(err.Error())
	}
	after, err := strVar(req, "after")
	if err != nil {
		return bad(err.Error())
	}
	start := firstIndex(c, since, inclusive)
	if after != "" {
		i, ok := decodeCursor(c.root, after)
		if !ok {
			return bad("Invalid cursor for current pagination sort.")
		}
		start = max(start, i+1)
	}
	end := min(c.count, start+first)
	p := page{Nodes: make([]any, 0, max(0, end-start))}
	actual := 2.0
	for i := start; i < end; i++ {
		node, nodeCost := c.node(i, req.Query)
		p.Nodes = append(p.Nodes, node)
		actual += nodeCost
	}
	p.PageInfo.HasNextPage = end < c.count
	if end > start {
		cur := encodeCursor(c.root, end-1)
		p.PageInfo.EndCursor = &cur
	}
	return map[string]any{c.root: p}, actual, nil
}
