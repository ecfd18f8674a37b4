package shopifytest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const pageQuery = `query P($first: Int!, $after: String, $query: String, $sortKey: CustomerSortKeys) {
  %s(first: $first, after: $after, query: $query, sortKey: $sortKey) { nodes { id updatedAt } pageInfo { hasNextPage endCursor } }
}`

type answer struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
	Extensions struct {
		Cost cost `json:"cost"`
	} `json:"extensions"`
}

func post(t *testing.T, s *Store, token, query string, vars map[string]any) (int, answer) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/admin/api/2026-10/graphql.json", bytes.NewReader(body))
	req.Header.Set("X-Shopify-Access-Token", token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a answer
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("answer is not JSON: %v: %s", err, raw)
		}
	}
	return res.StatusCode, a
}

type pageOf struct {
	Nodes []struct {
		ID        string    `json:"id"`
		UpdatedAt time.Time `json:"updatedAt"`
	} `json:"nodes"`
	PageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	} `json:"pageInfo"`
}

func TestPaginationCoversEveryObjectOnce(t *testing.T) {
	s := New(Options{Customers: 103, Orders: 57, Products: 11, Checkouts: 9})
	defer s.Close()
	for root, want := range map[string]int{"customers": 103, "orders": 57, "products": 11, "abandonedCheckouts": 9} {
		t.Run(root, func(t *testing.T) {
			seen := map[string]bool{}
			var after any
			var last time.Time
			sortKey := "UPDATED_AT"
			if root == "abandonedCheckouts" {
				sortKey = "ID"
			}
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("pagination does not end")
				}
				status, a := post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, root), map[string]any{"first": 10, "after": after, "sortKey": sortKey})
				if status != 200 || len(a.Errors) > 0 {
					t.Fatalf("status %d errors %+v", status, a.Errors)
				}
				var p pageOf
				if err := json.Unmarshal(a.Data[root], &p); err != nil {
					t.Fatal(err)
				}
				for _, n := range p.Nodes {
					if seen[n.ID] {
						t.Fatalf("%s seen twice", n.ID)
					}
					if n.UpdatedAt.Before(last) {
						t.Fatalf("%s out of updated_at order", n.ID)
					}
					seen[n.ID], last = true, n.UpdatedAt
				}
				if !p.PageInfo.HasNextPage {
					break
				}
				after = *p.PageInfo.EndCursor
			}
			if len(seen) != want {
				t.Fatalf("saw %d objects, want %d", len(seen), want)
			}
		})
	}
}

func TestUpdatedAtFilterAndSortKey(t *testing.T) {
	s := New(Options{Customers: 50, Products: 1})
	defer s.Close()
	// Customers 2i and 2i+1 share updated_at = epoch + i s.
	since := epoch.Add(10 * time.Second).Format(time.RFC3339)
	for op, want := range map[string]int{">=": 30, ">": 28} {
		_, a := post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "customers"),
			map[string]any{"first": 250, "query": fmt.Sprintf("updated_at:%s'%s'", op, since), "sortKey": "UPDATED_AT"})
		var p pageOf
		_ = json.Unmarshal(a.Data["customers"], &p)
		if len(p.Nodes) != want {
			t.Errorf("updated_at:%s: %d customers, want %d", op, len(p.Nodes), want)
		}
	}
	_, a := post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "abandonedCheckouts"), map[string]any{"first": 5, "sortKey": "UPDATED_AT"})
	if len(a.Errors) == 0 || !strings.Contains(a.Errors[0].Message, "sortKey") {
		t.Errorf("abandonedCheckouts accepted sortKey UPDATED_AT, which Shopify's enum lacks: %+v", a.Errors)
	}
	_, a = post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "customers"), map[string]any{"first": 5, "after": "bm90LWEtY3Vyc29y"})
	if len(a.Errors) == 0 {
		t.Error("a foreign cursor was accepted")
	}
	_, a = post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "customers"), map[string]any{"first": 251})
	if len(a.Errors) == 0 {
		t.Error("first: 251 was accepted")
	}
}

func TestThrottlingLeakyBucket(t *testing.T) {
	s := New(Options{Customers: 100, Products: 1, MaxAvailable: 100, RestoreRate: 20})
	defer s.Close()
	q := fmt.Sprintf(pageQuery, "customers")
	// first 40: requested 42, actual 42 (40 nodes + 2).
	_, a := post(t, s, "shpat_simulator", q, map[string]any{"first": 40})
	c := a.Extensions.Cost
	if c.RequestedQueryCost != 42 || c.ActualQueryCost == nil || *c.ActualQueryCost != 42 {
		t.Fatalf("cost %+v", c)
	}
	if got := c.ThrottleStatus.CurrentlyAvailable; got < 57 || got > 59 {
		t.Fatalf("available after 42 of 100: %v", got)
	}
	post(t, s, "shpat_simulator", q, map[string]any{"first": 40})
	_, a = post(t, s, "shpat_simulator", q, map[string]any{"first": 40})
	if len(a.Errors) != 1 || a.Errors[0].Extensions.Code != "THROTTLED" || a.Data != nil {
		t.Fatalf("third query of 42 with ~16 left was not throttled: %+v", a.Errors)
	}
	if s.Stats().Throttled != 1 {
		t.Fatalf("throttled count %d", s.Stats().Throttled)
	}
	// A refund: the last page of a filtered query returns fewer nodes than
	// requested and is charged only for those.
	time.Sleep(time.Duration((42 - a.Extensions.Cost.ThrottleStatus.CurrentlyAvailable + 2) / 20 * float64(time.Second)))
	_, a = post(t, s, "shpat_simulator", q, map[string]any{"first": 40, "query": "updated_at:>='" + epoch.Add(45*time.Second).Format(time.RFC3339) + "'"})
	if len(a.Errors) > 0 || *a.Extensions.Cost.ActualQueryCost != 12 {
		t.Fatalf("refund: %+v %+v", a.Errors, a.Extensions.Cost)
	}
	_, a = post(t, s, "shpat_simulator", `{ orders(first: 250) { nodes { id lineItems(first: 250) { nodes { id } } } } }`, map[string]any{"first": 250})
	if len(a.Errors) == 0 || a.Errors[0].Extensions.Code != "MAX_COST_EXCEEDED" {
		t.Fatalf("an over-limit query was not refused: %+v", a.Errors)
	}
}

func TestTokenAndFaults(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if status, _ := post(t, s, "wrong", fmt.Sprintf(pageQuery, "customers"), map[string]any{"first": 1}); status != 401 {
		t.Fatalf("wrong token: %d", status)
	}
	s.Inject(Fault{Status: 429, RetryAfter: "2"}, Fault{Status: 503})
	if status, _ := post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "customers"), map[string]any{"first": 1}); status != 429 {
		t.Fatalf("fault 1: %d", status)
	}
	if status, _ := post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "customers"), map[string]any{"first": 1}); status != 503 {
		t.Fatalf("fault 2: %d", status)
	}
	if status, _ := post(t, s, "shpat_simulator", fmt.Sprintf(pageQuery, "customers"), map[string]any{"first": 1}); status != 200 {
		t.Fatalf("after faults: %d", status)
	}
	if st := s.Stats(); st.Unauthorized != 1 || st.Faults != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// currentAppInstallation names the app the token belongs to, by the
// api key the store was given (or its default); a wrong token gets 401.
func TestCurrentAppInstallation(t *testing.T) {
	const q = `query AppOfToken { currentAppInstallation { app { apiKey } } }`
	for key, want := range map[string]string{"": "simulator-api-key", "a1b2c3d4e5f6": "a1b2c3d4e5f6"} {
		s := New(Options{APIKey: key})
		status, a := post(t, s, "shpat_simulator", q, nil)
		var got struct {
			App struct {
				APIKey string `json:"apiKey"`
			} `json:"app"`
		}
		json.Unmarshal(a.Data["currentAppInstallation"], &got)
		if status != 200 || len(a.Errors) > 0 || got.App.APIKey != want {
			t.Errorf("APIKey %q: status %d, errors %+v, apiKey %q, want %q", key, status, a.Errors, got.App.APIKey, want)
		}
		if status, _ := post(t, s, "wrong", q, nil); status != 401 {
			t.Errorf("wrong token: %d", status)
		}
		s.Close()
	}
}

func TestBulkJSONL(t *testing.T) {
	s := New(Options{Customers: 20, Orders: 40, Products: 7, Checkouts: 5, BulkPolls: 3})
	defer s.Close()
	for _, grouped := range []bool{true, false} {
		for root, want := range map[string]int{"customers": 20, "orders": 40, "products": 7, "abandonedCheckouts": 5} {
			t.Run(fmt.Sprintf("%s/grouped=%v", root, grouped), func(t *testing.T) {
				vars := map[string]any{"query": "{ " + root + " { edges { node { id } } } }"}
				if grouped {
					vars["groupObjects"] = true
				}
				lines := bulkLines(t, s, vars)
				parents, children := 0, 0
				var current string
				ids := map[string]bool{}
				for _, line := range lines {
					if p, ok := line["__parentId"]; ok {
						children++
						if !ids[p.(string)] {
							t.Fatalf("child %v of unknown parent %v", line["id"], p)
						}
						if grouped && p != current {
							t.Fatalf("child %v of %v does not follow its parent %s", line["id"], p, current)
						}
						continue
					}
					if !grouped && children > 0 {
						t.Fatal("ungrouped file: a parent after the children")
					}
					parents++
					current = line["id"].(string)
					ids[current] = true
				}
				if parents != want {
					t.Fatalf("%d parents, want %d", parents, want)
				}
				if root != "customers" && children == 0 {
					t.Fatal("no child lines")
				}
			})
		}
	}
}

// bulkLines runs a bulk query, polls it to completion (checking the status
// progression) and returns the decoded lines of its result file.
func bulkLines(t *testing.T, s *Store, vars map[string]any) []map[string]any {
	t.Helper()
	_, a := post(t, s, "shpat_simulator", `mutation BulkRun($query: String!, $groupObjects: Boolean) { bulkOperationRunQuery(query: $query, groupObjects: $groupObjects) { bulkOperation { id status } userErrors { field message } } }`, vars)
	var run struct {
		R struct {
			Op struct{ ID, Status string } `json:"bulkOperation"`
		} `json:"bulkOperationRunQuery"`
	}
	_ = json.Unmarshal(mustJSON(a.Data), &run)
	if run.R.Op.Status != "CREATED" {
		t.Fatalf("run: %+v %+v", run, a.Errors)
	}
	var statuses []string
	var url string
	for range 5 {
		_, a = post(t, s, "shpat_simulator", `query { node(id: $id) { ... on BulkOperation { id status url objectCount } } }`, map[string]any{"id": run.R.Op.ID})
		var poll struct {
			Node struct{ Status, URL, ObjectCount string }
		}
		_ = json.Unmarshal(mustJSON(a.Data), &poll)
		statuses = append(statuses, poll.Node.Status)
		if poll.Node.Status == "COMPLETED" {
			url = poll.Node.URL
			break
		}
	}
	if strings.Join(statuses, ",") != "RUNNING,RUNNING,COMPLETED" {
		t.Fatalf("status progression %v", statuses)
	}
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out []map[string]any
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("invalid JSONL line %q: %v", sc.Text(), err)
		}
		out = append(out, line)
	}
	return out
}

func TestBulkFailureAndLimit(t *testing.T) {
	s := New(Options{BulkPolls: 1})
	defer s.Close()
	s.FailNextBulk("INTERNAL_SERVER_ERROR")
	run := `mutation { bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } } }`
	_, a := post(t, s, "shpat_simulator", run, map[string]any{"query": "{ customers { edges { node { id } } } }"})
	_, a = post(t, s, "shpat_simulator", `query { currentBulkOperation { id status errorCode url } }`, nil)
	if cur := string(a.Data["currentBulkOperation"]); !strings.Contains(cur, `"status":"FAILED"`) || !strings.Contains(cur, `"errorCode":"INTERNAL_SERVER_ERROR"`) {
		t.Fatalf("not failed: %s", a.Data["currentBulkOperation"])
	}
	for range maxRunningBulk {
		post(t, s, "shpat_simulator", run, map[string]any{"query": "{ orders { edges { node { id } } } }"})
	}
	_, a = post(t, s, "shpat_simulator", run, map[string]any{"query": "{ orders { edges { node { id } } } }"})
	if !strings.Contains(string(a.Data["bulkOperationRunQuery"]), "already in progress") {
		t.Fatalf("a sixth concurrent bulk query was accepted: %s", a.Data["bulkOperationRunQuery"])
	}
}

func TestGenerationIsLazyAndDeterministic(t *testing.T) {
	a := NewStore(Options{Customers: 100_000, Orders: 200_000, Products: 500, Checkouts: 1000})
	b := NewStore(Options{Customers: 100_000, Orders: 200_000, Products: 500, Checkouts: 1000})
	for _, i := range []int{0, 1, 96, 99_999} {
		if !bytes.Equal(a.CustomerWebhook(i), b.CustomerWebhook(i)) {
			t.Fatalf("customer %d differs between identical stores", i)
		}
	}
	if !bytes.Equal(a.OrderWebhook(199_999), b.OrderWebhook(199_999)) {
		t.Fatal("order differs")
	}
	if c := a.CustomerAt(96); c.Email != "" || !c.MissingEmail {
		t.Fatal("customer 96 should have no email")
	}
	if v := a.ProductAt(0).Variants[0].ID; int64(v) != 1<<53+1 {
		t.Fatalf("variant id %d", v)
	}
	if o := a.OrderAt(49); o.Customer != nil {
		t.Fatal("order 49 should be a guest order")
	}
}

func TestNestedConnectionPages(t *testing.T) {
	s := New(Options{Customers: 2, Orders: 10, Products: 5, BigOrderEvery: 5})
	defer s.Close()
	q := `query { orders(first: $first) { nodes { id lineItems(first: 20) { nodes { id } pageInfo { hasNextPage endCursor } } } pageInfo { hasNextPage } } }`
	_, a := post(t, s, "shpat_simulator", q, map[string]any{"first": 5})
	if c := a.Extensions.Cost.RequestedQueryCost; c != 2+5*(1+22) {
		t.Fatalf("requested cost %v", c)
	}
	var p struct {
		Nodes []struct {
			ID        string
			LineItems struct {
				Nodes    []struct{ ID string }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
	}
	_ = json.Unmarshal(a.Data["orders"], &p)
	big := p.Nodes[4] // order 4 has 45 lines
	if len(big.LineItems.Nodes) != 20 || !big.LineItems.PageInfo.HasNextPage {
		t.Fatalf("big order page: %d lines", len(big.LineItems.Nodes))
	}
	seen := map[string]bool{}
	for _, l := range big.LineItems.Nodes {
		seen[l.ID] = true
	}
	after := big.LineItems.PageInfo.EndCursor
	for more := true; more; {
		_, a = post(t, s, "shpat_simulator", `query L($id: ID!, $after: String) { node(id: $id) { ... on Order { lineItems(first: 10, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } } }`,
			map[string]any{"id": big.ID, "after": after})
		var n struct {
			LineItems struct {
				Nodes    []struct{ ID string }
				PageInfo struct {
					HasNextPage bool
					EndCursor   string
				}
			}
		}
		_ = json.Unmarshal(a.Data["node"], &n)
		for _, l := range n.LineItems.Nodes {
			if seen[l.ID] {
				t.Fatalf("line %s twice", l.ID)
			}
			seen[l.ID] = true
		}
		more, after = n.LineItems.PageInfo.HasNextPage, n.LineItems.PageInfo.EndCursor
	}
	if len(seen) != 45 {
		t.Fatalf("%d lines, want 45", len(seen))
	}
	_, a = post(t, s, "shpat_simulator", `query L($id: ID!) { node(id: $id) { ... on Order { lineItems(first: 10) { nodes { id } } } } }`,
		map[string]any{"id": "gid://shopify/Order/1"})
	if string(a.Data["node"]) != "null" {
		t.Fatalf("unknown order: %s", a.Data["node"])
	}
}

// customer(id:) answers the customer while the store has it, and null once
// DeleteCustomer removed it or for an id it never had, as Shopify does
// after a deletion.
func TestCustomerLookupAfterDelete(t *testing.T) {
	s := New(Options{Customers: 3, Orders: 1, Products: 1, Checkouts: 1})
	defer s.Close()
	const q = `query CustomerExists($id: ID!) { customer(id: $id) { id } }`
	id := int64(s.CustomerAt(1).ID)
	lookup := func(gid string) string {
		t.Helper()
		status, a := post(t, s, "shpat_simulator", q, map[string]any{"id": gid})
		if status != 200 || len(a.Errors) > 0 {
			t.Fatalf("customer(id: %s): status %d, errors %+v", gid, status, a.Errors)
		}
		return string(a.Data["customer"])
	}
	gid := fmt.Sprintf("gid://shopify/Customer/%d", id)
	if got := lookup(gid); !strings.Contains(got, `"id":"`+gid+`"`) {
		t.Errorf("an existing customer: %s", got)
	}
	s.DeleteCustomer(id)
	if got := lookup(gid); got != "null" {
		t.Errorf("a deleted customer: %s, want null", got)
	}
	if got := lookup(fmt.Sprintf("gid://shopify/Customer/%d", id+1)); got == "null" {
		t.Errorf("another customer went with the deleted one")
	}
	for _, other := range []string{"gid://shopify/Customer/1", "gid://shopify/Order/" + fmt.Sprint(id+1), "nonsense"} {
		if got := lookup(other); got != "null" {
			t.Errorf("%s: %s, want null", other, got)
		}
	}
}
