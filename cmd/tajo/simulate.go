package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/tajo/tajo/pipeline/config"
	"github.com/tajo/tajo/sinks/brevo"
	"github.com/tajo/tajo/sinks/brevo/brevotest"
	"github.com/tajo/tajo/sources/shopify"
	"github.com/tajo/tajo/sources/shopify/shopifytest"
)

// devConfig is the `dev` section: the simulators `tajo run --dev` starts
// for a first run without credentials.
type devConfig struct {
	// Simulate is never (the default: a missing credential stops the
	// start), missing (simulate whatever has no credentials; what --dev
	// asks for) or always.
	Simulate string           `yaml:"simulate"`
	Shopify  devShopifyConfig `yaml:"shopify"`
	Brevo    devBrevoConfig   `yaml:"brevo"`

	// What the fixup decided to simulate; startSimulators starts those.
	simShopify, simBrevo bool
}

type devShopifyConfig struct {
	Listen    string `yaml:"listen"`
	Customers int    `yaml:"customers"`
	Orders    int    `yaml:"orders"`
	Products  int    `yaml:"products"`
	Checkouts int    `yaml:"checkouts"`
	// WebhookRate is how many signed webhooks per second the simulated
	// store sends to tajo (new orders, customer and checkout updates).
	WebhookRate float64 `yaml:"webhook_rate"`
}

type devBrevoConfig struct {
	Listen string `yaml:"listen"`
	// RateLimit caps the simulated account's requests per second (0: none).
	RateLimit int `yaml:"rate_limit"`
	// GeneralTier adds Brevo's General-tier limits per endpoint group
	// (brevotest.GeneralTier), /processes' 100 an hour included.
	GeneralTier bool `yaml:"general_tier"`
	// ImportTime (plus ImportTimePerContact per contact) is how long an
	// import stays in_process; 0 completes it on its second poll.
	ImportTime           time.Duration `yaml:"import_time"`
	ImportTimePerContact time.Duration `yaml:"import_time_per_contact"`
}

func init() {
	config.RegisterFixup(chooseSimulators)
	config.RegisterSection("dev", func() any {
		return &devConfig{
			Simulate: simulateNever,
			Shopify:  devShopifyConfig{Listen: "127.0.0.1:0", Customers: 200, Orders: 400, Products: 20, Checkouts: 30, WebhookRate: 2},
			Brevo:    devBrevoConfig{Listen: "127.0.0.1:0", RateLimit: 10},
		}
	})
}

// Validate implements config.Validatable.
func (d *devConfig) Validate(p *config.Problems, path string) {
	if d.Simulate == "auto" {
		p.Add(config.Join(path, "simulate"), `"auto" is no longer accepted: a run simulates only when asked`,
			"write never (the default), missing (simulate what has no credentials, as tajo run --dev does) or always")
	} else {
		p.OneOf(config.Join(path, "simulate"), d.Simulate, simulateNever, simulateMissing, simulateAlways)
	}
	for _, l := range []struct{ key, addr string }{{"shopify.listen", d.Shopify.Listen}, {"brevo.listen", d.Brevo.Listen}} {
		if host, _, err := net.SplitHostPort(l.addr); err != nil || !config.IsLoopback(host) {
			p.Add(config.Join(path, l.key), "must be a loopback host:port", `e.g. "127.0.0.1:0" for any free port`)
		}
	}
	for _, n := range []struct {
		key string
		v   int
	}{{"shopify.customers", d.Shopify.Customers}, {"shopify.orders", d.Shopify.Orders}, {"shopify.products", d.Shopify.Products}, {"shopify.checkouts", d.Shopify.Checkouts}, {"brevo.rate_limit", d.Brevo.RateLimit}} {
		if n.v < 0 {
			p.Add(config.Join(path, n.key), "must not be negative", "")
		}
	}
	for _, t := range []struct {
		key string
		v   time.Duration
	}{{"brevo.import_time", d.Brevo.ImportTime}, {"brevo.import_time_per_contact", d.Brevo.ImportTimePerContact}} {
		if t.v < 0 {
			p.Add(config.Join(path, t.key), "must not be negative", "0s completes an import on its second poll")
		}
	}
	if d.Shopify.WebhookRate < 0 || d.Shopify.WebhookRate > 1000 {
		p.Add(config.Join(path, "shopify.webhook_rate"), "must be between 0 and 1000", "0 sends no webhooks")
	}
}

// simulatedURL stands in for a simulator's address until it listens: a
// loopback one, since plain http is refused anywhere else.
const simulatedURL = "http://127.0.0.1:0"

// The values of dev.simulate.
const (
	simulateNever   = "never"   // a missing credential stops the start
	simulateMissing = "missing" // simulate what has no credentials: --dev
	simulateAlways  = "always"  // simulate both, credentials or not
)

// loadSimulate is the simulation the command loading the configuration
// asks for on top of dev.simulate ("" or simulateMissing). loadConfig sets
// it under loadMu around config.Load, for chooseSimulators to read.
var (
	loadMu       sync.Mutex
	loadSimulate string
)

// chooseSimulators decides, before validation, which of connectors.shopify
// and sinks.brevo a run simulates, and gives them the simulators'
// credentials so that the configuration is complete. Simulation happens
// only when asked for (dev.simulate: missing or always, or tajo run
// --dev): otherwise a missing credential is a problem that names the
// variable to export, and the start stops (fail closed).
func chooseSimulators(cfg *config.Config, p *config.Problems) {
	dev, _ := cfg.Sections["dev"].(*devConfig)
	if dev == nil {
		return
	}
	mode := dev.Simulate
	if loadSimulate == simulateMissing && mode != simulateAlways {
		mode = simulateMissing
	}
	if mode != simulateMissing && mode != simulateAlways {
		requireCredentials(cfg, p)
		return
	}
	always := mode == simulateAlways
	if comp := cfg.Component("connectors", "shopify"); comp != nil {
		sc, ok := comp.Spec.(*shopify.Config)
		if ok && (always || (sc.AccessToken == "" && sc.APISecret == "" && len(sc.Stores) == 0)) {
			o := shopifytest.Options{}.WithDefaults()
			sc.ShopURL, sc.AccessToken, sc.APISecret, sc.PreviousAPISecret, sc.AdminURL = o.Shop, config.Secret(o.AccessToken), config.Secret(o.Secret), "", simulatedURL
			dev.simShopify = true
		}
	}
	if comp := cfg.Component("sinks", "brevo"); comp != nil {
		bc, ok := comp.Spec.(*brevo.SinkConfig)
		if ok && (always || bc.APIKey == "") {
			bc.APIKey, bc.BaseURL = brevotest.DefaultAPIKey, simulatedURL+"/v3"
			// The simulated account has the lists the configuration names
			// (the seed's connectors.shopify.lists, each store's lists),
			// or 1, 2 and 3 when it names none: lists show the list rules
			// and let large batches go through imports.
			if len(bc.AllListIDs()) == 0 {
				bc.Lists.AllCustomers, bc.Lists.Buyers, bc.Lists.AbandonedCart = 1, 2, 3
			}
			dev.simBrevo = true
		}
	}
}

// credentialed is a component config that names the credentials a real
// run needs and it lacks (shopify.Config, brevo.SinkConfig): key under
// the component, the variable it is conventionally read from, and the
// service --dev would simulate.
type credentialed interface {
	MissingCredentials(add func(key, variable, service string))
}

// requireCredentials reports each credential an enabled component lacks,
// naming the variable it was to be read from.
func requireCredentials(cfg *config.Config, p *config.Problems) {
	cfg.Each(func(path string, spec any) {
		if c, ok := spec.(credentialed); ok {
			c.MissingCredentials(func(key, variable, service string) {
				at := config.Join(path, key)
				p.Add(at, missingCredential(cfg, at, variable, service), "")
			})
		}
	})
}

// missingCredential says what to do about the empty credential at path:
// export the variable the configuration reads it from (conventional when
// it reads none), or ask for simulation.
func missingCredential(cfg *config.Config, path, conventional, what string) string {
	if vars := cfg.EnvVars(path); len(vars) > 0 {
		return fmt.Sprintf("%s is not set: export it, or run with --dev to simulate %s", vars[0], what)
	}
	return fmt.Sprintf("is empty: write ${%s} here and export it, or run with --dev to simulate %s", conventional, what)
}

// simulators are the simulated store and Brevo account of a first run.
type simulators struct {
	store   *shopifytest.Store
	brevo   *brevotest.Server
	servers []*http.Server
	rate    float64
	log     *logrus.Logger
}

// startSimulators starts what the configuration needs simulated and points
// connectors.shopify and sinks.brevo at it. It returns nil when nothing is
// simulated.
func startSimulators(cfg *config.Config, log *logrus.Logger) (*simulators, error) {
	dev, _ := cfg.Sections["dev"].(*devConfig)
	if dev == nil || (!dev.simShopify && !dev.simBrevo) {
		return nil, nil
	}
	s := &simulators{log: log, rate: dev.Shopify.WebhookRate}
	if dev.simShopify {
		sc := cfg.Component("connectors", "shopify").Spec.(*shopify.Config)
		ln, err := net.Listen("tcp", dev.Shopify.Listen)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("dev.shopify.listen: %w", err)
		}
		sc.AdminURL = "http://" + ln.Addr().String()
		st := shopifytest.NewStore(shopifytest.Options{
			Customers: dev.Shopify.Customers, Orders: dev.Shopify.Orders,
			Products: dev.Shopify.Products, Checkouts: dev.Shopify.Checkouts,
			BaseURL: sc.AdminURL, // where bulk results are downloaded from
		})
		s.serve(ln, st)
		s.store = st
		log.WithFields(logrus.Fields{"shop": st.Shop(), "admin_url": sc.AdminURL}).
			Infof("no Shopify credentials: simulating a store (%d customers, %d orders, %d products) that tajo backfills and that sends %.1f webhooks/s",
				dev.Shopify.Customers, dev.Shopify.Orders, dev.Shopify.Products, dev.Shopify.WebhookRate)
	}
	if dev.simBrevo {
		bc := cfg.Component("sinks", "brevo").Spec.(*brevo.SinkConfig)
		opts := brevotest.Options{APIKey: bc.APIKey.Reveal(), Lenient: true, Lists: bc.ListNames(),
			ImportTime: dev.Brevo.ImportTime, ImportTimePerContact: dev.Brevo.ImportTimePerContact}
		if dev.Brevo.RateLimit > 0 {
			opts.RateLimit = brevotest.Limit{Requests: dev.Brevo.RateLimit, Per: time.Second}
		}
		if dev.Brevo.GeneralTier {
			opts.GroupLimits = brevotest.GeneralTier()
		}
		ln, err := net.Listen("tcp", dev.Brevo.Listen)
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("dev.brevo.listen: %w", err)
		}
		srv := brevotest.NewHandler(opts)
		s.serve(ln, srv)
		bc.BaseURL = "http://" + ln.Addr().String() + "/v3"
		s.brevo = srv
		log.WithField("base_url", bc.BaseURL).Infof("no Brevo API key: simulating a Brevo account; look at it with: curl -H 'api-key: %s' %s/contacts", opts.APIKey, bc.BaseURL)
	}
	return s, nil
}

func (s *simulators) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go srv.Serve(ln)
}

// sendWebhooks plays the store's live traffic: signed webhooks to tajo's
// /webhooks/shopify at the configured rate, until ctx ends. addr returns
// tajo's HTTP address once it listens.
func (s *simulators) sendWebhooks(ctx context.Context, addr func() string) {
	if s == nil || s.store == nil || s.rate <= 0 {
		return
	}
	var url string
	for url == "" {
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		if a := addr(); a != "" {
			url = "http://" + a + "/webhooks/shopify"
		}
	}
	o := s.store.Options()
	tick := time.NewTicker(time.Duration(float64(time.Second) / s.rate))
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var topic string
		var body []byte
		switch n % 4 {
		case 0, 2:
			topic, body = "orders/create", s.store.OrderWebhook(o.Orders+n)
		case 1:
			topic, body = "customers/update", s.store.CustomerWebhook(n%max(1, o.Customers))
		default:
			topic, body = "checkouts/update", s.store.CheckoutWebhook(n%max(1, o.Checkouts))
		}
		res, err := s.store.SendWebhook(ctx, url, topic, body)
		if err != nil && !errors.Is(err, context.Canceled) {
			s.log.WithError(err).WithField("topic", topic).Debug("simulated webhook not delivered")
		} else if err == nil && !res.OK() {
			s.log.WithField("topic", topic).Debugf("simulated webhook answered %v", res)
		}
	}
}

// Close stops the simulators, saying what the simulated Brevo account
// received.
func (s *simulators) Close() {
	if s == nil {
		return
	}
	if s.brevo != nil {
		reqs := 0
		counts := s.brevo.RequestCounts()
		for _, n := range counts {
			reqs += n
		}
		s.log.WithField("requests", counts).Infof("simulated Brevo account: %d contacts, %d events, %d orders, %d products after %d requests",
			len(s.brevo.Contacts()), len(s.brevo.Events()), len(s.brevo.Orders()), len(s.brevo.Products()), reqs)
	}
	for _, srv := range s.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(ctx)
		cancel()
	}
}
