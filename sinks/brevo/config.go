package brevo

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// SinkConfig is the `sinks.brevo` section of pipeline.yaml. pipeline.yaml
// documents every key.
type SinkConfig struct {
	APIKey  config.Secret `yaml:"api_key"`
	BaseURL string        `yaml:"base_url"`
	Timeout time.Duration `yaml:"timeout"`
	// Lists are explicit list ids for every shop: a non-zero one wins over
	// ListsByShop. Usually left 0, since the lists are the seed's
	// connectors.shopify.lists (see ListsByShop).
	Lists ListIDs `yaml:"lists"`
	// ListsByShop are the lists of each store's contacts, by shop domain;
	// the key AnyShop ("*") holds those of any shop not listed. Derive fills
	// it from connectors.shopify (lists, and each stores[].lists), keeping
	// what a user wrote here.
	ListsByShop map[string]ListIDs `yaml:"lists_by_shop"`
	Consent     struct {
		Resubscribe bool `yaml:"resubscribe"`
	} `yaml:"consent"`
	ImportThreshold    int           `yaml:"import_threshold"`
	ImportPollInterval time.Duration `yaml:"import_poll_interval"`
	// Pipeline is how many engine batches the sink holds at once
	// (pipeline.PipelinedSink): their contacts wait in one queue and
	// leave together while Brevo is the bottleneck (dispatch.go).
	Pipeline int          `yaml:"pipeline"`
	Import   ImportConfig `yaml:"import"`
	Batch    struct {
		Import   SizeLimit  `yaml:"import"`
		Events   SizeLimit  `yaml:"events"`
		Orders   CountLimit `yaml:"orders"`
		Products CountLimit `yaml:"products"`
		Lists    CountLimit `yaml:"lists"`
	} `yaml:"batch"`
	Concurrency struct {
		Initial int `yaml:"initial"`
		Max     int `yaml:"max"`
	} `yaml:"concurrency"`
	RateLimit int `yaml:"rate_limit"`
	// RateShare is the share of each endpoint group's Brevo limit the
	// sink uses (DisciplineConfig.RateShare).
	RateShare float64 `yaml:"rate_share"`
	Events    struct {
		Enabled bool `yaml:"enabled"`
		// DedupeWindow is how long the sink remembers (durably) that Brevo
		// accepted an event, so a redelivery within it sends nothing.
		DedupeWindow time.Duration `yaml:"dedupe_window"`
		// VerifyDelay is how long after an event request whose outcome
		// is unknown (tajo killed, a timeout) a GET /v3/events that does
		// not show its events is trusted to mean they never arrived;
		// until then the record waits (see doubt.go).
		VerifyDelay time.Duration `yaml:"verify_delay"`
	} `yaml:"events"`
	// TestOrders is "skip" (default: a `test: true` order or refund sends
	// nothing to Brevo) or "send".
	TestOrders string `yaml:"test_orders"`
	Ecommerce  struct {
		Enabled bool `yaml:"enabled"`
	} `yaml:"ecommerce"`
	Historical struct {
		Sources []string      `yaml:"sources"`
		MaxAge  time.Duration `yaml:"max_age"`
	} `yaml:"historical"`
	// KnownContacts is the read of Brevo's contacts at start that lets the
	// sink know, without a lookup per contact, which contacts Brevo holds
	// (known.go, bulkread.go).
	KnownContacts struct {
		// Read: read them at start (everything the first time, what
		// changed since on later starts).
		Read bool `yaml:"read"`
		// MaxRead: a read that would list more contacts is not made; 0 is
		// no bound.
		MaxRead int64 `yaml:"max_read"`
	} `yaml:"known_contacts"`
	// Attributes adds to or overrides DefaultAttributes (name → type).
	Attributes map[string]string `yaml:"attributes"`
	// Products are connectors.shopify.sync.products as Derive reads them
	// (derive.go): not keys of this section, so the setting has one home.
	Products ProductOptions `yaml:"-"`
}

// ImportConfig is how contact imports run and how their end is learned
// (completion.go).
type ImportConfig struct {
	// InFlight is how many imports may run at once.
	InFlight int `yaml:"in_flight"`
	// NotifyURL is tajo's webhook listener as Brevo reaches it
	// (https://tajo.example.com): set, each import carries a notifyUrl
	// under it and completes on Brevo's call. "" (default) polls.
	NotifyURL string `yaml:"notify_url"`
	// PollsPerHour is the budget of GET /processes polls shared by all
	// imports; 0 is none (a plan or proxy without the hourly limit).
	PollsPerHour int `yaml:"polls_per_hour"`
}

// ListIDs are the Brevo lists contacts are put in; 0 is none.
type ListIDs struct {
	AllCustomers  int64 `yaml:"all_customers"`
	Buyers        int64 `yaml:"buyers"`
	AbandonedCart int64 `yaml:"abandoned_cart"`
}

// AnyShop is the lists_by_shop key of the shops not listed by name.
const AnyShop = "*"

// Or fills the ids l leaves at 0 from o.
func (l ListIDs) Or(o ListIDs) ListIDs {
	if l.AllCustomers == 0 {
		l.AllCustomers = o.AllCustomers
	}
	if l.Buyers == 0 {
		l.Buyers = o.Buyers
	}
	if l.AbandonedCart == 0 {
		l.AbandonedCart = o.AbandonedCart
	}
	return l
}

// IDs returns the non-zero ids.
func (l ListIDs) IDs() []int64 {
	var out []int64
	for _, id := range []int64{l.AllCustomers, l.Buyers, l.AbandonedCart} {
		if id > 0 {
			out = append(out, id)
		}
	}
	return out
}

// ProductOptions say how a product becomes Brevo products.
type ProductOptions struct {
	// IncludeVariants sends each variant as a product of its own whose
	// parentId is the product (connectors.shopify.sync.products.
	// include_variants); otherwise one product per Shopify product.
	IncludeVariants bool
	// IncludeImages sends image URLs (include_images).
	IncludeImages bool
}

// NormalizeShop is the form shop domains are compared in: lower case,
// without scheme, path or trailing dot.
func NormalizeShop(shop string) string {
	s := strings.ToLower(strings.TrimSpace(shop))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSuffix(s, ".")
}

// ListsFor returns the lists of shop's contacts: sinks.brevo.lists where
// non-zero, else lists_by_shop of that shop, else of AnyShop.
func (c *SinkConfig) ListsFor(shop string) ListIDs {
	out := c.Lists
	if len(c.ListsByShop) == 0 {
		return out
	}
	want := NormalizeShop(shop)
	for k, l := range c.ListsByShop {
		if k != AnyShop && NormalizeShop(k) == want {
			out = out.Or(l)
			break
		}
	}
	return out.Or(c.ListsByShop[AnyShop])
}

// AllListIDs returns every list id some shop's contacts can go to,
// sorted: an id sinks.brevo.lists overrides everywhere is not one.
func (c *SinkConfig) AllListIDs() []int64 {
	seen := map[int64]bool{}
	for _, id := range c.Lists.IDs() {
		seen[id] = true
	}
	for shop := range c.ListsByShop {
		for _, id := range c.ListsFor(shop).IDs() {
			seen[id] = true
		}
	}
	out := keys64(seen)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func keys64(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Values of sinks.brevo.test_orders.
const (
	TestOrdersSkip = "skip"
	TestOrdersSend = "send"
)

// String masks the key, so printing the config (%v, %+v) cannot leak it.
func (c SinkConfig) String() string {
	return fmt.Sprintf("brevo.SinkConfig{BaseURL: %q, APIKey: %s}", c.BaseURL, maskKey(c.APIKey.Reveal()))
}

// GoString masks the key for %#v too.
func (c SinkConfig) GoString() string { return c.String() }

// SizeLimit bounds the requests of an endpoint by items and bytes.
type SizeLimit struct {
	MaxRecords int `yaml:"max_records"`
	MaxBytes   int `yaml:"max_bytes"`
}

// CountLimit bounds the requests of an endpoint by items.
type CountLimit struct {
	MaxRecords int `yaml:"max_records"`
}

// DefaultAttributes are the types of the attributes the default
// field_mapping writes (transforms/fieldmap.go). They are created at start
// when missing; an existing one of another type stops the start, because
// Brevo silently drops values of the wrong type.
var DefaultAttributes = map[string]AttrType{
	"FIRSTNAME": AttrText, "LASTNAME": AttrText, "SMS": AttrText,
	"ORDER_COUNT": AttrFloat, "TOTAL_SPENT": AttrFloat, "LAST_ORDER_DATE": AttrDate,
	"TAGS": AttrText, "CUSTOMER_TYPE": AttrText, "LANGUAGE": AttrText, "VIP_TIER": AttrText,
	"AOV": AttrFloat, "RECENCY": AttrFloat,
}

// NewSinkConfig returns the defaults.
func NewSinkConfig() any {
	c := &SinkConfig{
		BaseURL:            DefaultBaseURL,
		Timeout:            30 * time.Second,
		ImportThreshold:    20,
		ImportPollInterval: 2 * time.Second,
	}
	c.Batch.Import = SizeLimit{MaxRecords: 10000, MaxBytes: MaxImportBytes}
	c.Batch.Events = SizeLimit{MaxRecords: MaxEventsPerBatch, MaxBytes: MaxEventBatchBytes}
	c.Batch.Orders = CountLimit{MaxRecords: MaxOrdersPerBatch}
	c.Batch.Products = CountLimit{MaxRecords: MaxProductsPerBatch}
	c.Batch.Lists = CountLimit{MaxRecords: MaxListContactsPerCall}
	c.Concurrency.Initial, c.Concurrency.Max = 2, 8
	c.RateShare = DefaultRateShare
	c.Pipeline = DefaultPipeline
	c.Import = ImportConfig{InFlight: 4, PollsPerHour: 60}
	c.Events.Enabled, c.Ecommerce.Enabled = true, true
	c.Events.DedupeWindow = 168 * time.Hour
	c.Events.VerifyDelay = time.Minute
	c.TestOrders = TestOrdersSkip
	c.Historical.Sources = []string{"shopify.backfill", "backfill"}
	c.Products.IncludeImages = true
	c.KnownContacts.Read, c.KnownContacts.MaxRead = true, 1_000_000
	return c
}

// Validate implements config.Validatable.
func (c *SinkConfig) Validate(p *config.Problems, path string) {
	if strings.TrimSpace(c.APIKey.Reveal()) == "" {
		p.Add(config.Join(path, "api_key"), "is required", "write api_key: ${BREVO_API_KEY} and export the key from Brevo → SMTP & API → API keys")
	}
	if err := checkBaseURL(c.BaseURL); err != nil {
		p.Add(config.Join(path, "base_url"), err.Error(), "the default is "+DefaultBaseURL+"; plain http is only for a simulator on a loopback address (http://127.0.0.1:<port>/v3)")
	}
	pos := func(key string, v time.Duration) {
		if v <= 0 {
			p.Add(config.Join(path, key), "must be positive", "")
		}
	}
	pos("timeout", c.Timeout)
	pos("import_poll_interval", c.ImportPollInterval)
	if c.Events.DedupeWindow < time.Hour {
		p.Add(config.Join(path, "events.dedupe_window"), "must be at least 1h",
			"it must outlast any redelivery of a record (a stopped pipeline, a restart); the default is 168h")
	}
	if c.Events.VerifyDelay < 0 {
		p.Add(config.Join(path, "events.verify_delay"), "must be 0 or more", "the default is 1m")
	}
	p.OneOf(config.Join(path, "test_orders"), c.TestOrders, TestOrdersSkip, TestOrdersSend)
	checkLists := func(at string, l ListIDs) {
		for k, id := range map[string]int64{"all_customers": l.AllCustomers, "buyers": l.Buyers, "abandoned_cart": l.AbandonedCart} {
			if id < 0 {
				p.Add(config.Join(at, k), "must be a Brevo list id, or 0 for none", "")
			}
		}
	}
	checkLists(config.Join(path, "lists"), c.Lists)
	for _, shop := range slices.Sorted(maps.Keys(c.ListsByShop)) {
		if strings.TrimSpace(shop) == "" {
			p.Add(config.Join(path, "lists_by_shop"), "has an empty shop", `key by the shop's domain ("my-store.myshopify.com"), or "*" for any other shop`)
			continue
		}
		checkLists(config.Join(path, "lists_by_shop", shop), c.ListsByShop[shop])
	}
	if c.ImportThreshold < 0 {
		p.Add(config.Join(path, "import_threshold"), "must be 0 (never import) or more", "")
	}
	within := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			p.Add(config.Join(path, key), fmt.Sprintf("must be between %d and %d", lo, hi), "Brevo's limit is the upper bound")
		}
	}
	within("batch.import.max_records", c.Batch.Import.MaxRecords, 1, 1_000_000)
	within("batch.import.max_bytes", c.Batch.Import.MaxBytes, 10_000, 10_000_000)
	within("batch.events.max_records", c.Batch.Events.MaxRecords, 1, MaxEventsPerBatch)
	within("batch.events.max_bytes", c.Batch.Events.MaxBytes, 60_000, MaxEventBatchBytes)
	within("batch.orders.max_records", c.Batch.Orders.MaxRecords, 1, MaxOrdersPerBatch)
	within("batch.products.max_records", c.Batch.Products.MaxRecords, 1, MaxProductsPerBatch)
	within("batch.lists.max_records", c.Batch.Lists.MaxRecords, 1, MaxListContactsPerCall)
	within("concurrency.max", c.Concurrency.Max, 1, 256)
	within("concurrency.initial", c.Concurrency.Initial, 1, max(c.Concurrency.Max, 1))
	if c.Pipeline < 1 || c.Pipeline > 1024 {
		p.Add(config.Join(path, "pipeline"), "must be between 1 and 1024", fmt.Sprintf("1 takes one batch at a time; the default is %d", DefaultPipeline))
	}
	if c.Import.InFlight < 1 || c.Import.InFlight > 16 {
		p.Add(config.Join(path, "import.in_flight"), "must be between 1 and 16", "the default is 4")
	}
	if c.Import.PollsPerHour < 0 {
		p.Add(config.Join(path, "import.polls_per_hour"), "must be 0 (no budget) or more", "Brevo allows 100 requests/hour on /processes and the other unlisted endpoints together; the default is 60")
	}
	if c.Import.NotifyURL != "" {
		if err := checkNotifyURL(c.Import.NotifyURL); err != nil {
			p.Add(config.Join(path, "import.notify_url"), err.Error(), "the https address at which Brevo reaches server.listen, e.g. https://tajo.example.com; leave empty to poll")
		}
	}
	if c.RateLimit < 0 {
		p.Add(config.Join(path, "rate_limit"), "must be 0 (Brevo's per-endpoint limits only) or more", "")
	}
	if c.RateShare <= 0 || c.RateShare > 1 {
		p.Add(config.Join(path, "rate_share"), "must be above 0 and at most 1", fmt.Sprintf("the default is %v: 8 of Brevo's 10 requests/s", DefaultRateShare))
	}
	if c.KnownContacts.MaxRead < 0 {
		p.Add(config.Join(path, "known_contacts.max_read"), "must be 0 (no bound) or more", "the default is 1000000")
	}
	if c.Historical.MaxAge < 0 {
		p.Add(config.Join(path, "historical.max_age"), "must be 0 (off) or positive", "")
	}
	names := make([]string, 0, len(c.Attributes))
	for n := range c.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p.OneOf(config.Join(path, "attributes", n), c.Attributes[n], "text", "float", "date", "boolean")
	}
}

// checkBaseURL accepts an absolute https URL, or http to a loopback
// address (the simulators of `tajo dev brevo-sim` and `make run` listen on
// 127.0.0.1): anywhere else, plain http would carry the api-key and the
// customers' data in clear text.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("must be an absolute https URL")
	}
	if u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		return fmt.Errorf("must be https: http://%s would send the api-key and customer data unencrypted", u.Host)
	}
	return nil
}

// attributeTypes is DefaultAttributes with the configured ones applied.
func (c *SinkConfig) attributeTypes() map[string]AttrType {
	out := make(map[string]AttrType, len(DefaultAttributes)+len(c.Attributes))
	for k, v := range DefaultAttributes {
		out[k] = v
	}
	for k, v := range c.Attributes {
		out[strings.ToUpper(k)] = AttrType(v)
	}
	return out
}
