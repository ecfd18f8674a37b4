package brevo

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tajo/tajo/pipeline/config"
)

// SinkConfig is the `sinks.brevo` section of pipeline.yaml. pipeline.yaml
// documents every key.
type SinkConfig struct {
	APIKey  string        `yaml:"api_key"`
	BaseURL string        `yaml:"base_url"`
	Timeout time.Duration `yaml:"timeout"`
	Lists   struct {
		AllCustomers  int64 `yaml:"all_customers"`
		Buyers        int64 `yaml:"buyers"`
		AbandonedCart int64 `yaml:"abandoned_cart"`
	} `yaml:"lists"`
	Consent struct {
		Resubscribe bool `yaml:"resubscribe"`
	} `yaml:"consent"`
	ImportThreshold    int           `yaml:"import_threshold"`
	ImportPollInterval time.Duration `yaml:"import_poll_interval"`
	Batch              struct {
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
	// Attributes adds to or overrides DefaultAttributes (name → type).
	Attributes map[string]string `yaml:"attributes"`
}

// Values of sinks.brevo.test_orders.
const (
	TestOrdersSkip = "skip"
	TestOrdersSend = "send"
)

// String masks the key, so printing the config (%v, %+v) cannot leak it.
func (c SinkConfig) String() string {
	return fmt.Sprintf("brevo.SinkConfig{BaseURL: %q, APIKey: %s}", c.BaseURL, maskKey(c.APIKey))
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
	c.Events.Enabled, c.Ecommerce.Enabled = true, true
	c.Events.DedupeWindow = 168 * time.Hour
	c.Events.VerifyDelay = time.Minute
	c.TestOrders = TestOrdersSkip
	c.Historical.Sources = []string{"shopify.backfill", "backfill"}
	return c
}

// Validate implements config.Validatable.
func (c *SinkConfig) Validate(p *config.Problems, path string) {
	if strings.TrimSpace(c.APIKey) == "" {
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
	for k, id := range map[string]int64{"all_customers": c.Lists.AllCustomers, "buyers": c.Lists.Buyers, "abandoned_cart": c.Lists.AbandonedCart} {
		if id < 0 {
			p.Add(config.Join(path, "lists", k), "must be a Brevo list id, or 0 for none", "")
		}
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
	if c.RateLimit < 0 {
		p.Add(config.Join(path, "rate_limit"), "must be 0 (Brevo's per-endpoint limits only) or more", "")
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
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("must be https: http://%s would send the api-key and customer data unencrypted", u.Host)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
