package admin

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/tajo/tajo/pipeline"
)

// MaxChildren bounds the children (line items, variants, images) held for
// one parent while it is reassembled, so a hostile or runaway file cannot
// grow memory without limit.
const MaxChildren = 50_000

// parentKey is how a child line names its parent. Inside a JSON string the
// quotes would be escaped, so finding it unescaped means the line has the
// key; the decoded value decides in the end.
var parentKey = []byte(`"__parentId":`)

// DecodeBulk reads a bulk operation's JSONL result of kind from r and
// emits whole objects, skipping the first skip. It returns the number of
// objects read (skipped + emitted).
//
// Shopify writes each nested connection node on its own line with a
// __parentId, after its parent. So an object is complete when the next
// top-level line starts (or the file ends): only the current object is
// held, and memory stays bounded however large the file. A child whose
// parent is not the current object is an error, not a reason to buffer.
func DecodeBulk(r io.Reader, kind string, maxLine int, skip int64, emit EmitFunc) (int64, error) {
	if _, ok := specs[kind]; !ok {
		return 0, pipeline.Stop(fmt.Errorf("shopify admin: unknown kind %q", kind))
	}
	if maxLine <= 0 {
		maxLine = 16 << 20
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	var (
		cur      *assembly
		n        int64
		lineNo   int
		children int
	)
	bad := func(format string, args ...any) error {
		return pipeline.Stop(fmt.Errorf("shopify admin: bulk %s result line %d: %s", kind, lineNo, fmt.Sprintf(format, args...)))
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		a := cur
		cur, children = nil, 0
		n++
		if n <= skip {
			return nil
		}
		obj, err := a.finish()
		if err != nil {
			return pipeline.Stop(fmt.Errorf("shopify admin: bulk %s result object ending line %d: %w", kind, lineNo, err))
		}
		return emit(kind, obj.Value, obj.UpdatedAt)
	}
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if bytes.Contains(line, parentKey) {
			parent, ok, err := addChild(kind, cur, line)
			if err != nil {
				return n, bad("%v", err)
			}
			if ok {
				if children++; children > MaxChildren {
					return n, bad("more than %d children under %s", MaxChildren, cur.gid)
				}
				continue
			}
			if parent != "" {
				want := "none"
				if cur != nil {
					want = cur.gid
				}
				return n, bad("child of %s does not follow its parent (current parent: %s); was the operation run without groupObjects: true?", clip(parent, 80), want)
			}
			// The key was nested deeper: a top-level object after all.
		}
		if err := flush(); err != nil {
			return n, err
		}
		a, err := newAssembly(kind, line)
		if err != nil {
			return n, bad("%v", err)
		}
		cur = a
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			lineNo++ // the line that did not fit was never scanned
			return n, bad("longer than %d bytes", maxLine)
		}
		return n, err
	}
	return n, flush()
}

// assembly is one parent object while its children arrive.
type assembly struct {
	kind     string
	gid      string
	customer *customerNode
	order    *orderNode
	product  *productNode
	checkout *checkoutNode
}

func newAssembly(kind string, line []byte) (*assembly, error) {
	a := &assembly{kind: kind}
	var parentID string
	var err error
	switch kind {
	case KindCustomer:
		a.customer = new(customerNode)
		err = json.Unmarshal(line, a.customer)
		a.gid, parentID = a.customer.ID, a.customer.ParentID
	case KindOrder:
		a.order = &orderNode{LineItems: &nodes[lineItemNode]{}}
		err = json.Unmarshal(line, a.order)
		a.gid, parentID = a.order.ID, a.order.ParentID
	case KindProduct:
		a.product = &productNode{Variants: &nodes[variantNode]{}, Media: &nodes[mediaNode]{}}
		err = json.Unmarshal(line, a.product)
		a.gid, parentID = a.product.ID, a.product.ParentID
	case KindCheckout:
		a.checkout = &checkoutNode{LineItems: &nodes[lineItemNode]{}}
		err = json.Unmarshal(line, a.checkout)
		a.gid, parentID = a.checkout.ID, a.checkout.ParentID
	}
	switch {
	case err != nil:
		return nil, err
	case parentID != "":
		return nil, fmt.Errorf("unexpected child line (of %s)", clip(parentID, 80))
	case a.gid == "":
		return nil, errors.New("object without an id")
	}
	return a, nil
}

// addChild decodes a child line into cur. ok is false when the line is not
// a child (parent == "") or its parent is not cur (parent set).
func addChild(kind string, cur *assembly, line []byte) (parent string, ok bool, err error) {
	switch kind {
	case KindOrder, KindCheckout:
		var li lineItemNode
		if err := json.Unmarshal(line, &li); err != nil {
			return "", false, err
		}
		if li.ParentID == "" || cur == nil || li.ParentID != cur.gid {
			return li.ParentID, false, nil
		}
		if t := gidType(li.ID); t != "LineItem" && t != "AbandonedCheckoutLineItem" {
			return "", false, fmt.Errorf("unexpected child %s under %s", clip(li.ID, 80), cur.gid)
		}
		if cur.order != nil {
			cur.order.LineItems.Nodes = append(cur.order.LineItems.Nodes, li)
		} else {
			cur.checkout.LineItems.Nodes = append(cur.checkout.LineItems.Nodes, li)
		}
		return li.ParentID, true, nil
	case KindProduct:
		var ch productChild
		if err := json.Unmarshal(line, &ch); err != nil {
			return "", false, err
		}
		if ch.ParentID == "" || cur == nil || ch.ParentID != cur.gid {
			return ch.ParentID, false, nil
		}
		switch gidType(ch.ID) {
		case "ProductVariant":
			cur.product.Variants.Nodes = append(cur.product.Variants.Nodes, ch.variantNode)
		case "MediaImage", "Video", "ExternalVideo", "Model3d":
			cur.product.Media.Nodes = append(cur.product.Media.Nodes,
				mediaNode{ID: ch.ID, MediaContentType: ch.MediaContentType, Image: ch.Image})
		default:
			return "", false, fmt.Errorf("unexpected child %s under %s", clip(ch.ID, 80), cur.gid)
		}
		return ch.ParentID, true, nil
	}
	var probe struct {
		ParentID string `json:"__parentId"`
	}
	if err := json.Unmarshal(line, &probe); err != nil {
		return "", false, err
	}
	if probe.ParentID != "" {
		return "", false, fmt.Errorf("unexpected child line (of %s): %s objects have no children", clip(probe.ParentID, 80), kind)
	}
	return "", false, nil
}

func (a *assembly) finish() (Object, error) {
	var (
		id  Object
		err error
	)
	switch {
	case a.customer != nil:
		v, e := toCustomer(a.customer)
		if e == nil {
			id = Object{a.kind, v.ID, v.UpdatedAt, v}
		}
		err = e
	case a.order != nil:
		v, e := toOrder(a.order)
		if e == nil {
			id = Object{a.kind, v.ID, v.UpdatedAt, v}
		}
		err = e
	case a.product != nil:
		v, e := toProduct(a.product)
		if e == nil {
			id = Object{a.kind, v.ID, v.UpdatedAt, v}
		}
		err = e
	case a.checkout != nil:
		v, e := toCheckout(a.checkout)
		if e == nil {
			id = Object{a.kind, v.ID, v.UpdatedAt, v}
		}
		err = e
	}
	return id, err
}
