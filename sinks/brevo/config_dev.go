package brevo

import (
	"maps"
	"slices"
	"strings"
)

// What a run that may simulate Brevo (tajo run --dev) needs from the
// sink's config.

// MissingCredentials calls add with each credential a real run needs and
// the config lacks: the API key, conventionally read from BREVO_API_KEY.
func (c *SinkConfig) MissingCredentials(add func(key, variable, service string)) {
	if strings.TrimSpace(c.APIKey.Reveal()) == "" {
		add("api_key", "BREVO_API_KEY", "Brevo")
	}
}

// ListNames names every list the sink will put contacts in (ListsFor any
// shop), so that a simulated account has them.
func (c *SinkConfig) ListNames() map[int64]string {
	lists := map[int64]string{}
	for _, shop := range append(slices.Collect(maps.Keys(c.ListsByShop)), "") {
		l := c.ListsFor(shop)
		for id, name := range map[int64]string{l.AllCustomers: "All customers", l.Buyers: "Buyers", l.AbandonedCart: "Abandoned cart"} {
			if id > 0 {
				lists[id] = name
			}
		}
	}
	return lists
}
