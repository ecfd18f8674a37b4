package shopifytest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Options size and tune a simulated store. The zero value is a small store
// with Shopify's Standard-plan throttling.
type Options struct {
	Shop        string // myshopify domain; default "tajo-sim.myshopify.com"
	AccessToken string // the Admin API token the store accepts; default "shpat_simulator"
	Secret      string // the app client secret signing webhooks; default "simulator-secret"
	APIVersion  string // the version webhooks report; default "2026-10"
	// APIKey is the client id of the app AccessToken belongs to, what
	// currentAppInstallation { app { apiKey } } answers; default
	// "simulator-api-key".
	APIKey string

	// Object counts. When all four are zero a small store is generated
	// (100 customers, 200 orders, 20 products, 30 checkouts); set any to
	// size the store yourself (orders need at least one product to have
	// line items).
	Customers, Orders, Products, Checkouts int
	Seed                                   uint64
	// BigOrderEvery gives every Nth order 45 line items, more than one
	// nested page holds (0: none).
	BigOrderEvery int

	// Cost throttling, per Shopify's leaky bucket: defaults 2000 points,
	// restored at 100/s, at most 1000 points per query.
	MaxAvailable float64
	RestoreRate  float64
	MaxQueryCost float64

	// BulkPolls is how many polls a bulk operation takes to complete
	// (default 2), so a client sees CREATED → RUNNING → COMPLETED.
	BulkPolls int
	// BaseURL is where bulk result files are served from; by default the
	// Host of the request that polled, so a standalone simulator works
	// behind any address.
	BaseURL string
}

// WithDefaults returns o with every unset field at the value a Store uses.
func (o Options) WithDefaults() Options {
	o.defaults()
	return o
}

func (o *Options) defaults() {
	if o.Shop == "" {
		o.Shop = "tajo-sim.myshopify.com"
	}
	if o.AccessToken == "" {
		o.AccessToken = "shpat_simulator"
	}
	if o.Secret == "" {
		o.Secret = "simulator-secret"
	}
	if o.APIVersion == "" {
		o.APIVersion = "2026-10"
	}
	if o.APIKey == "" {
		o.APIKey = "simulator-api-key"
	}
	if o.Customers == 0 && o.Orders == 0 && o.Products == 0 && o.Checkouts == 0 {
		o.Customers, o.Orders, o.Products, o.Checkouts = 100, 200, 20, 30
	}
	if o.MaxAvailable <= 0 {
		o.MaxAvailable = 2000
	}
	if o.RestoreRate <= 0 {
		o.RestoreRate = 100
	}
	if o.MaxQueryCost <= 0 {
		o.MaxQueryCost = 1000
	}
	if o.BulkPolls <= 0 {
		o.BulkPolls = 2
	}
}

// Fault is a canned answer the next GraphQL request gets instead of the
// real one: a status (429, 500, 503…), an optional Retry-After, and an
// optional raw body (truncated JSON, wrong types, anything hostile).
type Fault struct {
	Status     int
	RetryAfter string
	Body       string
}

// Stats counts what the simulator saw, so tests assert on the server's
// view rather than the client's.
type Stats struct {
	Requests        int     // GraphQL requests, faults included
	Throttled       int     // THROTTLED answers given
	Unauthorized    int     // 401 answers
	Faults          int     // injected faults served
	BulkDownloads   int     // JSONL downloads started
	TokenOnDownload int     // downloads that carried the Admin API token (it must not leak there)
	CostSpent       float64 // actual query cost charged
}

// Store is a simulated Shopify store: an http.Handler serving the Admin
// GraphQL API and bulk result files, generating its objects lazily from
// their index so even a 100,000-customer store costs no memory.
type Store struct {
	opts Options
	srv  *httptest.Server

	mu          sync.Mutex
	available   float64
	lastRestore time.Time
	faults      []Fault
	stats       Stats
	ops         []*bulkOp
	failBulk    string
	deleted     map[int64]bool // customer ids DeleteCustomer removed
}

// NewStore returns the handler without starting a server (Main serves it
// on a real address).
func NewStore(opts Options) *Store {
	opts.defaults()
	return &Store{opts: opts, available: opts.MaxAvailable, lastRestore: time.Now()}
}

// New starts a simulated store on a loopback httptest server; Close stops it.
func New(opts Options) *Store {
	s := NewStore(opts)
	s.srv = httptest.NewServer(s)
	return s
}

// DeleteCustomer deletes customer id (CustomerAt(i).ID) as the Shopify
// admin does before it sends customers/delete: from then on the Admin
// API's customer(id:) answers null for it. (Listings and bulk files still
// generate it.)
func (s *Store) DeleteCustomer(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleted == nil {
		s.deleted = map[int64]bool{}
	}
	s.deleted[id] = true
}

// URL is the base URL to give the client as its admin_url override.
func (s *Store) URL() string {
	if s.srv == nil {
		return s.opts.BaseURL
	}
	return s.srv.URL
}

// Close stops the server started by New.
func (s *Store) Close() {
	if s.srv != nil {
		s.srv.Close()
	}
}

// Options returns the effective options (defaults filled in).
func (s *Store) Options() Options { return s.opts }

// Shop is the store's myshopify domain.
func (s *Store) Shop() string { return s.opts.Shop }

// Stats returns a snapshot of the counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Inject queues faults; each GraphQL request consumes the first one.
func (s *Store) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Drain empties the cost bucket, as if another app on the same store had
// spent it, so the next query is answered THROTTLED.
func (s *Store) Drain() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.available, s.lastRestore = 0, time.Now()
}

// FailNextBulk makes the next bulk operation end FAILED with errorCode
// (e.g. "INTERNAL_SERVER_ERROR").
func (s *Store) FailNextBulk(errorCode string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failBulk = errorCode
}

// ServeHTTP routes /admin/api/{version}/graphql.json and /bulk/{id}.jsonl.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/admin/api/") && strings.HasSuffix(p, "/graphql.json"):
		version := strings.TrimSuffix(strings.TrimPrefix(p, "/admin/api/"), "/graphql.json")
		s.serveGraphQL(w, r, version)
	case strings.HasPrefix(p, "/bulk/") && strings.HasSuffix(p, ".jsonl"):
		s.serveBulkFile(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/bulk/"), ".jsonl"))
	default:
		http.NotFound(w, r)
	}
}
