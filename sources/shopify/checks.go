package shopify

import (
	"time"

	"github.com/tajo/tajo/pipeline"
)

// checkService is the service of the connection checks the connector
// reports, one per store.
const checkService = Source

// EachCheck calls fn with each connection check a run reports: one per
// configured store, that its Admin API answers with the token. A history
// status says connected only once each has passed
// (clickhouse.ChecksDeclarer).
func (c *Config) EachCheck(fn func(service, shop string)) {
	for _, st := range c.StoreList() {
		fn(checkService, st.ShopURL)
	}
}

// HistoryChecks are the connection checks among what TestConnection saw,
// as the history keeps them: per store, whether the Admin API answered
// with the token, or why not, dated at.
func HistoryChecks(checks []Check, at time.Time) []pipeline.ConnectionCheck {
	var out []pipeline.ConnectionCheck
	for _, c := range checks {
		if c.Name != "API connection successful" {
			continue
		}
		out = append(out, pipeline.ConnectionCheck{Time: at, Service: checkService, Shop: c.Shop, OK: c.OK, Detail: "tajo connectors test: " + c.Detail})
	}
	return out
}
