package brevo

import (
	"errors"
	"net/http"

	"github.com/tajo/tajo/pipeline"
)

// CheckService names Brevo in the connection checks (connection_checks).
const CheckService = "brevo"

// reportKey records what Brevo said of the API key in the connection
// checks `tajo connectors status` reads: accepted (err nil, reported once,
// at Open) or refused (a 401/403 or an account-wide refusal, whenever it
// comes). Other errors say nothing about the key and are not reported.
func (s *Sink) reportKey(err error) {
	if s.checks == nil {
		return
	}
	switch {
	case err == nil:
		if s.keyReported.Swap(true) {
			return
		}
		s.checks.ReportCheck(pipeline.ConnectionCheck{Service: CheckService, OK: true, Detail: "API key" + s.client.keyHintSuffix() + " accepted"})
	case keyRefused(err):
		s.keyReported.Store(false)
		s.checks.ReportCheck(pipeline.ConnectionCheck{Service: CheckService, Detail: err.Error()})
	}
}

// keyRefused reports whether err is Brevo refusing the key or the account.
func keyRefused(err error) bool {
	var e *APIError
	return errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || accountWideCodes[e.Code])
}
