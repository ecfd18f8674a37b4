package shopify

import (
	"fmt"
	"time"

	"github.com/tajo/tajo/sources/shopify/admin"
)

// Shopify releases an Admin API version each quarter (YYYY-01, -04, -07,
// -10, on the first of the month) and serves each for at least 12 months;
// a request to a version it no longer serves "falls forward" to the oldest
// one it does, so a pinned version past its end silently reads (and
// webhooks are serialized) in another shape than tajo was written for
// (https://shopify.dev/docs/api/usage/versioning).
//
// apiVersionEnds is the end of support of every version this tajo knows,
// the documented minimum (release + 12 months). A version is refused from
// its end on, and warned about apiVersionWarnDays before it.
var apiVersionEnds = map[string]string{
	"2023-01": "2024-01-01", "2023-04": "2024-04-01", "2023-07": "2024-07-01", "2023-10": "2024-10-01",
	"2024-01": "2025-01-01", "2024-04": "2025-04-01", "2024-07": "2025-07-01", "2024-10": "2025-10-01",
	"2025-01": "2026-01-01", "2025-04": "2026-04-01", "2025-07": "2026-07-01", "2025-10": "2026-10-01",
	"2026-01": "2027-01-01", "2026-04": "2027-04-01", "2026-07": "2027-07-01", "2026-10": "2027-10-01",
}

// apiVersionWarnDays is how long before a version's end validate warns.
const apiVersionWarnDays = 90

// now is the clock API versions are judged by; tests set it.
var now = time.Now

// versionVerdict is what tajo says about an api_version: refused (retired,
// or not a release name), a warning (ending soon, unknown to this tajo,
// unstable), or nothing.
type versionVerdict struct {
	refused bool
	message string
	hint    string
}

func (v versionVerdict) ok() bool { return v.message == "" }

// judgeAPIVersion judges v ("" is tajo's pinned default) on the day at.
func judgeAPIVersion(v string, at time.Time) versionVerdict {
	fix := fmt.Sprintf(`write api_version: %q (tajo's pinned default), or leave it out`, admin.DefaultAPIVersion)
	if v == "" {
		return versionVerdict{}
	}
	if v == "unstable" {
		return versionVerdict{message: `"unstable" changes without notice`, hint: "pin a release for production: " + fix}
	}
	t, err := time.Parse("2006-01", v)
	if err != nil || t.Format("2006-01") != v {
		return versionVerdict{refused: true, message: fmt.Sprintf("%q is not a Shopify API version", v), hint: `e.g. "2026-10" (YYYY-MM), or "unstable"`}
	}
	if t.Month()%3 != 1 {
		return versionVerdict{refused: true, message: fmt.Sprintf("%q is not a Shopify release: versions are quarterly (YYYY-01, -04, -07, -10)", v), hint: fix}
	}
	endText, known := apiVersionEnds[v]
	if !known {
		oldest := "2023-01"
		if v < oldest {
			return versionVerdict{refused: true, message: fmt.Sprintf("Shopify no longer serves API version %s (each version is served 12 months from its release)", v), hint: fix}
		}
		if t.After(at) {
			return versionVerdict{refused: true, message: fmt.Sprintf("API version %s is not released yet (releases come out on the 1st of their month)", v), hint: fix}
		}
		return versionVerdict{message: fmt.Sprintf("API version %s is newer than this tajo, which was written against %s and up to it", v, admin.DefaultAPIVersion),
			hint: "webhooks and reads may carry fields tajo does not know; upgrade tajo, or " + fix}
	}
	end, _ := time.Parse("2006-01-02", endText)
	day := at.UTC().Truncate(24 * time.Hour)
	switch left := int(end.Sub(day).Hours() / 24); {
	case left <= 0:
		return versionVerdict{refused: true,
			message: fmt.Sprintf("Shopify stopped serving API version %s on %s: requests fall forward to the oldest version it serves, in a shape tajo does not expect", v, endText),
			hint:    fix}
	case left <= apiVersionWarnDays:
		return versionVerdict{message: fmt.Sprintf("Shopify stops serving API version %s on %s (in %d days); it then falls forward to the oldest version it serves", v, endText, left),
			hint: "move to a newer version before then: " + fix}
	}
	return versionVerdict{}
}
