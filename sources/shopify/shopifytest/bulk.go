package shopifytest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tajo/tajo/schemas"
)

// conn is one top-level connection of the Admin API as the simulator
// serves it, both paged and in bulk.
type conn struct {
	root      string
	count     int
	updatedAt func(int) time.Time
	// node is object i as a page node (nested connections inline) and its
	// actual cost.
	node func(i int, query string) (any, float64)
	// lines writes object i as bulk JSONL lines: the parent, then its
	// children each carrying __parentId. It returns the lines written.
	lines    func(i int, enc *lineWriter) (int, error)
	sortKeys map[string]bool
}

var (
	updatedSortKeys  = map[string]bool{"UPDATED_AT": true, "ID": true}
	checkoutSortKeys = map[string]bool{"ID": true, "CHECKOUT_ID": true} // Shopify has no UPDATED_AT here
)

func (s *Store) connection(root string) (conn, bool) {
	switch root {
	case "customers":
		return conn{root: root, count: s.opts.Customers, updatedAt: customerUpdatedAt, sortKeys: updatedSortKeys,
			node: func(i int, _ string) (any, float64) { return customerNode(s.CustomerAt(i)), 1 },
			lines: func(i int, enc *lineWriter) (int, error) {
				return 1, enc.Encode(customerNode(s.CustomerAt(i)))
			}}, true
	case "orders":
		return conn{root: root, count: s.opts.Orders, updatedAt: orderUpdatedAt, sortKeys: updatedSortKeys,
			node: func(j int, q string) (any, float64) {
				o := s.OrderAt(j)
				g := orderNode(o)
				g.LineItems = childPage("lineItems", orderLineNodes(o), nestedFirst(q, "lineItems"), 0)
				return g, 3 + float64(len(g.LineItems.Nodes))
			},
			lines: func(j int, enc *lineWriter) (int, error) {
				o := s.OrderAt(j)
				return writeLines(enc, orderNode(o), o.AdminGraphQLAPIID, orderLineNodes(o))
			}}, true
	case "products":
		return conn{root: root, count: s.opts.Products, updatedAt: productUpdatedAt, sortKeys: updatedSortKeys,
			node: func(k int, q string) (any, float64) {
				p := s.ProductAt(k)
				g := productNode(p)
				g.Variants = childPage("variants", variantNodes(p), nestedFirst(q, "variants"), 0)
				g.Media = childPage("media", mediaNodes(p), nestedFirst(q, "media"), 0)
				return g, 5 + float64(len(g.Variants.Nodes)+len(g.Media.Nodes))
			},
			lines: func(k int, enc *lineWriter) (int, error) {
				p := s.ProductAt(k)
				n, err := writeLines(enc, productNode(p), p.AdminGraphQLAPIID, variantNodes(p))
				if err != nil {
					return 0, err
				}
				m, err := writeLines[gMedia](enc, nil, p.AdminGraphQLAPIID, mediaNodes(p))
				return n + m, err
			}}, true
	case "abandonedCheckouts":
		return conn{root: root, count: s.opts.Checkouts, updatedAt: checkoutUpdatedAt, sortKeys: checkoutSortKeys,
			node: func(i int, q string) (any, float64) {
				c := s.CheckoutAt(i)
				g := checkoutNode(c)
				g.LineItems = childPage("lineItems", checkoutLineNodes(c), nestedFirst(q, "lineItems"), 0)
				return g, 3 + float64(len(g.LineItems.Nodes))
			},
			lines: func(i int, enc *lineWriter) (int, error) {
				c := s.CheckoutAt(i)
				g := checkoutNode(c)
				return writeLines(enc, g, g.ID, checkoutLineNodes(c))
			}}, true
	}
	return conn{}, false
}

// writeLines writes a parent line (unless nil) and its children, each
// with __parentId set.
func writeLines[T any](enc *lineWriter, parent any, parentID string, children []T) (int, error) {
	n := 0
	if parent != nil {
		if err := enc.Encode(parent); err != nil {
			return 0, err
		}
		n++
	}
	for _, c := range children {
		if err := enc.Child(withParent(c, parentID)); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

func withParent(child any, parentID string) any {
	switch c := child.(type) {
	case gLineItem:
		c.ParentID = parentID
		return c
	case gVariant:
		c.ParentID = parentID
		return c
	case gMedia:
		c.ParentID = parentID
		return c
	}
	return child
}

func orderLineNodes(o *schemas.Order) []gLineItem {
	out := make([]gLineItem, 0, len(o.LineItems))
	for _, l := range o.LineItems {
		out = append(out, lineItemNode("LineItem", l, o.Currency))
	}
	return out
}

func checkoutLineNodes(c *schemas.Checkout) []gLineItem {
	out := make([]gLineItem, 0, len(c.LineItems))
	for _, l := range c.LineItems {
		out = append(out, lineItemNode("AbandonedCheckoutLineItem", l, c.Currency))
	}
	return out
}

func variantNodes(p *schemas.Product) []gVariant {
	out := make([]gVariant, 0, len(p.Variants))
	for _, v := range p.Variants {
		out = append(out, variantNode(v))
	}
	return out
}

func mediaNodes(p *schemas.Product) []gMedia {
	out := make([]gMedia, 0, len(p.Images))
	for _, im := range p.Images {
		out = append(out, imageNode(im))
	}
	return out
}

// nestedFirst is the page size a query gives a nested connection (50 when
// it gives none, as a bare connection would be refused by Shopify anyway).
func nestedFirst(q, field string) int {
	m := regexp.MustCompile(`\b` + field + `\(\s*first:\s*(\d+)`).FindStringSubmatch(q)
	if m == nil {
		return 50
	}
	n, _ := strconv.Atoi(m[1])
	return max(1, n)
}

var nestedFieldRE = regexp.MustCompile(`\b(lineItems|variants|media)\(\s*first:\s*(\d+)`)

// nestedPage answers node(id:) for an order, checkout or product with the
// next page of one of its nested connections: how a client completes an
// object whose nested page was truncated.
func (s *Store) nestedPage(req gqlRequest) (any, float64, []gqlError) {
	id, _ := strVar(req, "id")
	m := nestedFieldRE.FindStringSubmatch(req.Query)
	if m == nil {
		return nil, 1, []gqlError{{Message: "simulator: node(id:) supports lineItems, variants or media pages", Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}
	}
	field := m[1]
	first, _ := strconv.Atoi(m[2])
	start := 0
	if after, _ := strVar(req, "after"); after != "" {
		i, ok := decodeCursor(field, after)
		if !ok {
			return nil, 1, []gqlError{{Message: "Invalid cursor for current pagination sort.", Extensions: map[string]any{"code": "BAD_USER_INPUT"}}}
		}
		start = i + 1
	}
	typ, n, _ := strings.Cut(strings.TrimPrefix(id, "gid://shopify/"), "/")
	num, err := strconv.ParseInt(n, 10, 64)
	var page any
	var got int
	switch {
	case err != nil:
	case typ == "Order" && field == "lineItems" && num >= orderBase && num < orderBase+int64(s.opts.Orders):
		p := childPage(field, orderLineNodes(s.OrderAt(int(num-orderBase))), first, start)
		page, got = p, len(p.Nodes)
	case typ == "AbandonedCheckout" && field == "lineItems" && num >= checkoutBase && num < checkoutBase+int64(s.opts.Checkouts):
		p := childPage(field, checkoutLineNodes(s.CheckoutAt(int(num-checkoutBase))), first, start)
		page, got = p, len(p.Nodes)
	case typ == "Product" && num >= productBase && num < productBase+int64(s.opts.Products):
		pr := s.ProductAt(int(num - productBase))
		if field == "variants" {
			p := childPage(field, variantNodes(pr), first, start)
			page, got = p, len(p.Nodes)
		} else if field == "media" {
			p := childPage(field, mediaNodes(pr), first, start)
			page, got = p, len(p.Nodes)
		}
	}
	if page == nil {
		return map[string]any{"node": nil}, 1, nil
	}
	return map[string]any{"node": map[string]any{"id": id, field: page}}, 3 + float64(got), nil
}

// lineWriter writes bulk result lines. Shopify groups children under
// their parent only when asked (groupObjects, default false from API
// 2026-01); ungrouped files are written in two passes, parents then
// children, so a client that assumes grouping without asking for it fails.
type lineWriter struct {
	enc               *json.Encoder
	parents, children bool
}

// Encode writes a top-level object's line.
func (w *lineWriter) Encode(v any) error {
	if !w.parents {
		return nil
	}
	return w.enc.Encode(v)
}

// Child writes a child line (one carrying __parentId).
func (w *lineWriter) Child(v any) error {
	if !w.children {
		return nil
	}
	return w.enc.Encode(v)
}

// bulkOp is one bulk query operation. Its result is not stored: the JSONL
// is generated again, identically, each time the file is downloaded.
type bulkOp struct {
	id          int
	root        string
	since       time.Time
	inclusive   bool
	grouped     bool
	status      string
	errorCode   string
	polls       int
	objects     int
	createdAt   time.Time
	completedAt *time.Time
}

func (op *bulkOp) gid() string { return fmt.Sprintf("gid://shopify/BulkOperation/%d", op.id) }

// maxRunningBulk is Shopify's limit from API 2026-01: five bulk queries per
// shop at once.
const maxRunningBulk = 5

var (
	bulkFilterRE   = regexp.MustCompile(`query:\s*"((?:[^"\\]|\\.)*)"`)
	groupLiteralRE = regexp.MustCompile(`groupObjects:\s*(true|false)`)
)

type userError struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
}

func (s *Store) runBulk(req gqlRequest) any {
	answer := func(op *bulkOp, ue ...userError) any {
		var b any
		if op != nil {
			b = map[string]any{"id": op.gid(), "status": op.status}
		}
		if ue == nil {
			ue = []userError{}
		}
		return map[string]any{"bulkOperationRunQuery": map[string]any{"bulkOperation": b, "userErrors": ue}}
	}
	inner, err := strVar(req, "query")
	if err != nil || inner == "" {
		return answer(nil, userError{[]string{"query"}, "Bulk query is required"})
	}
	root := rootField(inner)
	c, ok := s.connection(root)
	if !ok {
		return answer(nil, userError{[]string{"query"}, fmt.Sprintf("Invalid bulk query: Field '%s' doesn't exist on type 'QueryRoot'", root)})
	}
	op := &bulkOp{id: len(s.ops) + 1, root: root, status: "CREATED", createdAt: time.Now().UTC(), inclusive: true,
		grouped: req.version < "2026-01" && req.version != "unstable"}
	if raw, ok := req.Variables["groupObjects"]; ok && string(raw) != "null" {
		op.grouped = string(raw) == "true"
	} else if m := groupLiteralRE.FindStringSubmatch(req.Query); m != nil {
		op.grouped = m[1] == "true"
	}
	if m := bulkFilterRE.FindStringSubmatch(inner); m != nil {
		q, _ := strconv.Unquote(`"` + m[1] + `"`)
		if op.since, op.inclusive, err = parseFilter(q); err != nil {
			return answer(nil, userError{[]string{"query"}, err.Error()})
		}
	}
	running := 0
	for _, o := range s.ops {
		if o.status == "CREATED" || o.status == "RUNNING" {
			running++
		}
	}
	if running >= maxRunningBulk {
		return answer(nil, userError{[]string{"query"}, "A bulk query operation for this app and shop is already in progress."})
	}
	for i := firstIndex(c, op.since, op.inclusive); i < c.count; i++ {
		op.objects += s.objectLines(root, i)
	}
	if s.failBulk != "" {
		op.errorCode, s.failBulk = s.failBulk, ""
	}
	s.ops = append(s.ops, op)
	return answer(op)
}

// objectLines counts the JSONL lines of object i without building it.
func (s *Store) objectLines(root string, i int) int {
	switch root {
	case "orders":
		return 1 + len(s.orderLines(i))
	case "products":
		h := s.hash(hProduct, i)
		return 1 + s.variantCount(i) + 1 + int((h>>30)%2)
	case "abandonedCheckouts":
		if s.opts.Products == 0 {
			return 1
		}
		return 2 + int(s.hash(hCheckout, i)>>8)%2
	}
	return 1
}

func (s *Store) pollBulk(root string, req gqlRequest) any {
	var op *bulkOp
	if root == "currentBulkOperation" {
		if len(s.ops) > 0 {
			op = s.ops[len(s.ops)-1]
		}
	} else if id, _ := strVar(req, "id"); strings.HasPrefix(id, "gid://shopify/BulkOperation/") {
		n, err := strconv.Atoi(strings.TrimPrefix(id, "gid://shopify/BulkOperation/"))
		if err == nil && n >= 1 && n <= len(s.ops) {
			op = s.ops[n-1]
		}
	}
	if op == nil {
		return map[string]any{root: nil}
	}
	op.polls++
	switch {
	case op.status == "COMPLETED" || op.status == "FAILED":
	case op.polls >= s.opts.BulkPolls && op.errorCode != "":
		op.status = "FAILED"
		op.completedAt = ptr(time.Now().UTC())
	case op.polls >= s.opts.BulkPolls:
		op.status = "COMPLETED"
		op.completedAt = ptr(time.Now().UTC())
	default:
		op.status = "RUNNING"
	}
	count := op.objects
	if op.status == "RUNNING" {
		count = op.objects * op.polls / s.opts.BulkPolls
	}
	out := map[string]any{
		"__typename": "BulkOperation", "id": op.gid(), "status": op.status, "objectCount": strconv.Itoa(count),
		"errorCode": nil, "url": nil, "partialDataUrl": nil, "createdAt": op.createdAt, "completedAt": op.completedAt,
		"query": fmt.Sprintf("{ %s { … } }", op.root),
	}
	if op.errorCode != "" {
		out["errorCode"] = op.errorCode
	}
	if op.status == "COMPLETED" {
		base := s.opts.BaseURL
		if base == "" && s.srv != nil {
			base = s.srv.URL
		}
		out["url"] = fmt.Sprintf("%s/bulk/%d.jsonl", base, op.id)
	}
	return map[string]any{root: out}
}

// serveBulkFile streams the result of a completed operation: like the
// signed storage URL Shopify hands out, it needs no access token.
func (s *Store) serveBulkFile(w http.ResponseWriter, r *http.Request, id string) {
	n, err := strconv.Atoi(id)
	s.mu.Lock()
	var op *bulkOp
	if err == nil && n >= 1 && n <= len(s.ops) && s.ops[n-1].status == "COMPLETED" {
		op = s.ops[n-1]
	}
	if op != nil {
		s.stats.BulkDownloads++
		if r.Header.Get("X-Shopify-Access-Token") != "" {
			s.stats.TokenOnDownload++
		}
	}
	s.mu.Unlock()
	if op == nil {
		http.NotFound(w, r)
		return
	}
	c, _ := s.connection(op.root)
	w.Header().Set("Content-Type", "application/jsonl")
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	passes := []lineWriter{{enc, true, true}}
	if !op.grouped {
		passes = []lineWriter{{enc, true, false}, {enc, false, true}}
	}
	for _, w := range passes {
		for i := firstIndex(c, op.since, op.inclusive); i < c.count; i++ {
			if _, err := c.lines(i, &w); err != nil {
				return // the client went away
			}
		}
	}
	_ = bw.Flush()
}
