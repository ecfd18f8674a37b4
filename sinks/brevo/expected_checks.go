package brevo

// EachCheck calls fn with the connection check a run reports: that Brevo
// accepts the API key (checks.go). A history status says connected only
// once it has passed (clickhouse.ChecksDeclarer).
func (c *SinkConfig) EachCheck(fn func(service, shop string)) { fn(CheckService, "") }
