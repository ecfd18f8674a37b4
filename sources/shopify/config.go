package shopify

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline/config"
)

// Config is the `connectors.shopify` section. It reaches the plugin
// process as JSON (secrets included: through Configure, never through the
// environment), so every field has a json name. The secrets are
// config.Secret, masked by every printing and encoding (json.Marshal
// included); PluginJSON is the one encoding that reveals them, for the
// plugin.
//
// One store is written the seed's way (shop_url, access_token, lists at
// the top level); several go in Stores, each inheriting what it does not
// set from the top level (api_secret, api_version, admin_url, lists).
type Config struct {
	ShopURL    string        `yaml:"shop_url" json:"shop_url,omitempty"`
	APIVersion string        `yaml:"api_version" json:"api_version,omitempty"`
	APIKey     string        `yaml:"api_key" json:"api_key,omitempty"`
	APISecret  config.Secret `yaml:"api_secret" json:"api_secret,omitempty"`
	// PreviousAPISecret is accepted beside APISecret during a rotation:
	// Shopify may take up to an hour to sign with the new secret.
	PreviousAPISecret config.Secret `yaml:"previous_api_secret" json:"previous_api_secret,omitempty"`
	AccessToken       config.Secret `yaml:"access_token" json:"access_token,omitempty"`
	AdminURL          string        `yaml:"admin_url" json:"admin_url,omitempty"`
	Lists             Lists         `yaml:"lists" json:"lists"`
	Stores            []Store       `yaml:"stores" json:"stores,omitempty"`
	Sync              Sync          `yaml:"sync" json:"sync"`

	Debug       bool   `yaml:"debug" json:"debug,omitempty"`
	LogLevel    string `yaml:"log_level" json:"log_level,omitempty"`
	LogWebhooks bool   `yaml:"log_webhooks" json:"log_webhooks,omitempty"`
	// DedupeWindow is how long a delivery's X-Shopify-Webhook-Id is
	// remembered. Shopify retries for 4 hours; a day covers late
	// duplicates too.
	DedupeWindow time.Duration `yaml:"dedupe_window" json:"dedupe_window"`

	// StateDir is set by the host (under data_dir), not by users: the
	// plugin's own directory, where an older tajo kept its dedupe window
	// (webhooks.db, removed at start: the host dedupes on its state now).
	StateDir string `yaml:"-" json:"state_dir,omitempty"`
}

// Store is one entry of connectors.shopify.stores.
type Store struct {
	ShopURL           string        `yaml:"shop_url" json:"shop_url"`
	AccessToken       config.Secret `yaml:"access_token" json:"access_token,omitempty"`
	APIVersion        string        `yaml:"api_version" json:"api_version,omitempty"`
	APISecret         config.Secret `yaml:"api_secret" json:"api_secret,omitempty"`
	PreviousAPISecret config.Secret `yaml:"previous_api_secret" json:"previous_api_secret,omitempty"`
	AdminURL          string        `yaml:"admin_url" json:"admin_url,omitempty"`
	Lists             *Lists        `yaml:"lists" json:"lists,omitempty"`
}

// Lists are the seed's Brevo list ids a store's contacts are put in.
type Lists struct {
	AllCustomers  int64 `yaml:"all_customers" json:"all_customers,omitempty"`
	Buyers        int64 `yaml:"buyers" json:"buyers,omitempty"`
	AbandonedCart int64 `yaml:"abandoned_cart" json:"abandoned_cart,omitempty"`
}

// Sync says what is synced. The resources (customers, orders, products,
// carts, inventory) gate both webhooks (a disabled resource's topics are
// acknowledged and dropped) and backfill.
type Sync struct {
	Customers bool        `yaml:"customers" json:"customers"`
	Orders    bool        `yaml:"orders" json:"orders"`
	Products  ProductSync `yaml:"products" json:"products"`
	// Carts covers carts/*, checkouts/* and the abandoned checkouts
	// backfill.
	Carts     bool          `yaml:"carts" json:"carts"`
	Inventory InventorySync `yaml:"inventory" json:"inventory"`
	// Backfill reads every enabled resource through bulk operations on
	// the first start of a store.
	Backfill bool `yaml:"backfill" json:"backfill"`
	// ReconcileEvery is how often objects updated since the last cursor
	// are read back (cursor pagination), so updates whose webhook never
	// arrived are repaired; 0 turns reconciliation off.
	ReconcileEvery time.Duration `yaml:"reconcile_every" json:"reconcile_every"`
	// PageSize is the reconciliation page size (Admin API first:).
	PageSize int `yaml:"page_size" json:"page_size"`
	// BulkPollInterval is how often a running bulk operation is polled.
	BulkPollInterval time.Duration `yaml:"bulk_poll_interval" json:"bulk_poll_interval"`
}

// ProductSync is the seed's sync.products, which is written either as a
// boolean or as a mapping. The product_filter transform applies these
// settings; see Config.ProductSettings.
type ProductSync struct {
	Enabled          bool          `yaml:"enabled" json:"enabled"`
	IncludeVariants  bool          `yaml:"include_variants" json:"include_variants"`
	IncludeImages    bool          `yaml:"include_images" json:"include_images"`
	CategoriesAsTags bool          `yaml:"categories_as_tags" json:"categories_as_tags"`
	Filter           ProductFilter `yaml:"filter" json:"filter"`
}

// ProductFilter selects the products that sync.
type ProductFilter struct {
	Status      StringList `yaml:"status" json:"status,omitempty"`
	ExcludeTags []string   `yaml:"exclude_tags" json:"exclude_tags,omitempty"`
}

// StringList accepts a single string (the seed's `status: active`) or a
// list.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var many []string
	if err := n.Decode(&many); err != nil {
		return fmt.Errorf("expected a string or a list of strings")
	}
	*l = many
	return nil
}

// FromScalar accepts `products: true|false`.
func (p *ProductSync) FromScalar(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("expected true, false or a mapping, got %q", v)
	}
	p.Enabled = on
	return nil
}

// InventorySync is the seed's sync.inventory, a boolean or a mapping.
type InventorySync struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// LowStockThreshold and OutOfStockEvents are the seed's keys for
	// inventory alerts. Nothing raises those alerts yet (they come with
	// cart recovery and the skills): validate accepts the keys with a
	// warning saying so.
	LowStockThreshold int  `yaml:"low_stock_threshold" json:"low_stock_threshold,omitempty"`
	OutOfStockEvents  bool `yaml:"out_of_stock_events" json:"out_of_stock_events,omitempty"`
}

// FromScalar accepts `inventory: true|false`.
func (i *InventorySync) FromScalar(v string) error {
	on, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("expected true, false or a mapping, got %q", v)
	}
	i.Enabled = on
	return nil
}

// NewConfig returns the defaults: every resource of the seed synced except
// inventory, a backfill on first start, reconciliation every 15 minutes.
func NewConfig() any {
	return &Config{
		Sync: Sync{
			Customers: true, Orders: true, Carts: true,
			Products: ProductSync{Enabled: true, IncludeVariants: true, IncludeImages: true},
			Backfill: true, ReconcileEvery: 15 * time.Minute, PageSize: 100, BulkPollInterval: 2 * time.Second,
		},
		LogLevel:     "info",
		DedupeWindow: 24 * time.Hour,
	}
}

var logLevels = []string{"trace", "verbose", "debug", "info", "warn", "error"}

// Validate implements config.Validatable.
func (c *Config) Validate(p *config.Problems, path string) {
	stores := c.StoreList()
	if len(stores) == 0 {
		p.Add(config.Join(path, "shop_url"), "is required", `write shop_url: your-store.myshopify.com, or list stores: [{shop_url: …, access_token: …}]`)
	}
	if c.ShopURL != "" && len(c.Stores) > 0 {
		p.Add(config.Join(path, "shop_url"), "set both at the top level and in stores", "move the single store into stores:")
	}
	seen := map[string]string{}
	for i, s := range stores {
		sp := path
		if len(c.Stores) > 0 {
			sp = config.Join(path, "stores", i)
		}
		if !ValidShopDomain(s.ShopURL) {
			p.Add(config.Join(sp, "shop_url"), fmt.Sprintf("%q is not <name>.myshopify.com", clip(s.ShopURL)),
				"use the store's permanent myshopify domain, not a custom domain or a URL")
		} else if prev, dup := seen[s.ShopURL]; dup {
			p.Add(config.Join(sp, "shop_url"), "listed twice", "also at "+prev)
		} else {
			seen[s.ShopURL] = config.Join(sp, "shop_url")
		}
		if s.APISecret == "" {
			p.Add(config.Join(sp, "api_secret"), "is required to verify webhooks", "write api_secret: ${SHOPIFY_API_SECRET} (the app's client secret)")
		}
		needToken := c.Sync.Backfill || c.Sync.ReconcileEvery > 0
		if s.AccessToken == "" && needToken {
			p.Add(config.Join(sp, "access_token"), "is required for backfill and reconciliation",
				"write access_token: ${SHOPIFY_ACCESS_TOKEN}, or set sync.backfill: false and sync.reconcile_every: 0")
		}
		vp := config.Join(sp, "api_version")
		if len(c.Stores) > 0 && c.Stores[i].APIVersion == "" {
			vp = config.Join(path, "api_version")
		}
		if v := judgeAPIVersion(s.APIVersion, now()); v.refused {
			p.Add(vp, v.message, v.hint)
		} else if !v.ok() {
			p.Warn(vp, v.message, v.hint)
		}
		if s.AdminURL != "" {
			if why := checkAdminURL(s.AdminURL); why != "" {
				p.Add(config.Join(sp, "admin_url"), why, "leave it out for https://<shop_url>; plain http is only for the store simulator on a loopback address (http://127.0.0.1:8090)")
			}
		}
		lp := config.Join(sp, "lists")
		if len(c.Stores) > 0 && c.Stores[i].Lists == nil {
			lp = config.Join(path, "lists")
		}
		s.Lists.validate(p, lp)
	}
	p.OneOf(config.Join(path, "log_level"), c.LogLevel, logLevels...)
	if c.DedupeWindow < time.Minute {
		p.Add(config.Join(path, "dedupe_window"), "must be at least 1m", "Shopify retries a delivery for 4 hours; 24h is the default")
	}
	sp := config.Join(path, "sync")
	if c.Sync.ReconcileEvery < 0 || (c.Sync.ReconcileEvery > 0 && c.Sync.ReconcileEvery < time.Minute) {
		p.Add(config.Join(sp, "reconcile_every"), "must be 0 (off) or at least 1m", `e.g. "15m"`)
	}
	if c.Sync.BulkPollInterval < 10*time.Millisecond {
		p.Add(config.Join(sp, "bulk_poll_interval"), "must be at least 10ms", `e.g. "2s"`)
	}
	if c.Sync.PageSize < 1 || c.Sync.PageSize > 250 {
		p.Add(config.Join(sp, "page_size"), "must be between 1 and 250", "Shopify pages hold at most 250 objects")
	}
	for i, st := range c.Sync.Products.Filter.Status {
		p.OneOf(config.Join(sp, "products", "filter", "status", i), st, "active", "draft", "archived", "unlisted")
	}
	inv := c.Sync.Inventory
	if inv.LowStockThreshold < 0 {
		p.Add(config.Join(sp, "inventory", "low_stock_threshold"), "must not be negative", "")
	} else if inv.LowStockThreshold > 0 {
		p.Warn(config.Join(sp, "inventory", "low_stock_threshold"), notActedOn, inventoryAlertsHint)
	}
	if inv.OutOfStockEvents {
		p.Warn(config.Join(sp, "inventory", "out_of_stock_events"), notActedOn, inventoryAlertsHint)
	}
}

// The seed's inventory alert keys are accepted (a seed configuration
// validates) but raise nothing yet: the alerts come with cart recovery and
// the skills. Inventory webhooks themselves sync when inventory is on.
const (
	notActedOn          = "accepted but not acted on yet: no low-stock or out-of-stock event is raised"
	inventoryAlertsHint = "inventory alerts come with cart recovery and the skills; until then leave it out, or keep it for then"
)

func (l Lists) validate(p *config.Problems, path string) {
	for _, f := range []struct {
		name string
		v    int64
	}{{"all_customers", l.AllCustomers}, {"buyers", l.Buyers}, {"abandoned_cart", l.AbandonedCart}} {
		if f.v < 0 {
			p.Add(config.Join(path, f.name), "must be a Brevo list id (a positive number), or 0 for none", "")
		}
	}
}

// StoreList returns the configured stores with the top-level settings
// filled in where a store leaves them out; shop domains are lower case.
func (c *Config) StoreList() []Store {
	var out []Store
	if len(c.Stores) == 0 {
		if c.ShopURL == "" {
			return nil
		}
		out = []Store{{ShopURL: c.ShopURL, AccessToken: c.AccessToken}}
	} else {
		out = append(out, c.Stores...)
	}
	for i := range out {
		s := &out[i]
		s.ShopURL = strings.ToLower(strings.TrimSpace(s.ShopURL))
		if s.APIVersion == "" {
			s.APIVersion = c.APIVersion
		}
		if s.APISecret == "" {
			s.APISecret, s.PreviousAPISecret = c.APISecret, c.PreviousAPISecret
		}
		if s.AdminURL == "" {
			s.AdminURL = c.AdminURL
		}
		if s.Lists == nil {
			l := c.Lists
			s.Lists = &l
		}
	}
	return out
}

// EachLists calls fn with the seed's Brevo list ids: first the top-level
// lists (shop ""), then each store's (stores[].lists, inheriting the
// top-level ones), in StoreList's order. The Brevo sink's config derives
// its lists_by_shop from them (brevo.ListsSource) without this package
// and that one importing each other.
func (c *Config) EachLists(fn func(shop string, allCustomers, buyers, abandonedCart int64)) {
	fn("", c.Lists.AllCustomers, c.Lists.Buyers, c.Lists.AbandonedCart)
	for _, st := range c.StoreList() {
		if l := st.Lists; l != nil {
			fn(st.ShopURL, l.AllCustomers, l.Buyers, l.AbandonedCart)
		}
	}
}

// ProductSettings returns sync.products, the settings the product_filter
// transform applies (the transforms package reads the same keys from its
// stage's `products:`).
func (c *Config) ProductSettings() ProductSync { return c.Sync.Products }

// ProductSyncSettings hands sync.products to the transform chain's product
// filter (transforms.ProductSettings).
func (c *Config) ProductSyncSettings() (enabled, includeVariants, includeImages, categoriesAsTags bool, status, excludeTags []string) {
	p := c.Sync.Products
	return p.Enabled, p.IncludeVariants, p.IncludeImages, p.CategoriesAsTags, []string(p.Filter.Status), p.Filter.ExcludeTags
}

// String prints the config with its secrets masked (config.Secret does
// the masking), so a Config can be logged or printed.
func (c Config) String() string {
	type plain Config // drops String, so %+v does not recurse
	return fmt.Sprintf("%+v", plain(c))
}

// GoString masks secrets under %#v too.
func (c Config) GoString() string { return c.String() }

// PluginJSON is the configuration as the plugin's Configure receives it:
// encoding/json of c with its secrets revealed, the one encoding that
// shows them (json.Marshal of a Config masks them). plugins.ConnectorFactory
// calls it.
func (c Config) PluginJSON() ([]byte, error) {
	type plainConfig Config
	type plainStore Store
	// The outer fields shadow the embedded Secret ones of the same json
	// name (encoding/json takes the shallowest).
	type revealedStore struct {
		plainStore
		AccessToken       string `json:"access_token,omitempty"`
		APISecret         string `json:"api_secret,omitempty"`
		PreviousAPISecret string `json:"previous_api_secret,omitempty"`
	}
	out := struct {
		plainConfig
		APISecret         string          `json:"api_secret,omitempty"`
		PreviousAPISecret string          `json:"previous_api_secret,omitempty"`
		AccessToken       string          `json:"access_token,omitempty"`
		Stores            []revealedStore `json:"stores,omitempty"`
	}{plainConfig: plainConfig(c), APISecret: c.APISecret.Reveal(), PreviousAPISecret: c.PreviousAPISecret.Reveal(), AccessToken: c.AccessToken.Reveal()}
	for _, s := range c.Stores {
		out.Stores = append(out.Stores, revealedStore{plainStore: plainStore(s),
			AccessToken: s.AccessToken.Reveal(), APISecret: s.APISecret.Reveal(), PreviousAPISecret: s.PreviousAPISecret.Reveal()})
	}
	return json.Marshal(out)
}

// checkAdminURL accepts an absolute https URL, or http to a loopback
// address (the store simulator): anywhere else, plain http would carry the
// access token and the customers' data in clear text.
func checkAdminURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "must be an absolute http(s) URL"
	}
	if u.Scheme == "http" && !config.IsLoopback(u.Hostname()) {
		return fmt.Sprintf("must be https: http://%s would send the access token and customer data unencrypted", u.Host)
	}
	return ""
}
