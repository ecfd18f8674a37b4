package shopify

// MissingCredentials calls add with each credential a real run needs and
// the config lacks: the api_secret webhooks are verified with
// (SHOPIFY_API_SECRET), and the access_token when a backfill or a
// reconciliation reads the Admin API (SHOPIFY_ACCESS_TOKEN). The stores
// form is left to Validate, which names each store's path.
func (c *Config) MissingCredentials(add func(key, variable, service string)) {
	if len(c.Stores) > 0 {
		return
	}
	if c.APISecret == "" {
		add("api_secret", "SHOPIFY_API_SECRET", "the Shopify store")
	}
	if c.AccessToken == "" && (c.Sync.Backfill || c.Sync.ReconcileEvery > 0) {
		add("access_token", "SHOPIFY_ACCESS_TOKEN", "the Shopify store")
	}
}
