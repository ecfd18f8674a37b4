package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	// The Benthos distribution's own components for this job: stdin and
	// file (io), bloblang, batching and the rest of the core (pure).
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// runBenthos is the peer: this binary run as `bench benthos -c config.yaml`
// is the Benthos v4 CLI with the components above, as a user would build it.
func runBenthos(args []string) {
	os.Args = append([]string{"benthos"}, args...)
	service.RunCLI(context.Background())
}

// contactMapping is tajo's default chain for a customer event, in
// Bloblang: the default field_mapping of pipeline.yaml
// (transforms/fieldmap.go), with the aggregates seeded from the payload's
// legacy orders_count and total_spent as tajo does for a customer it has
// not seen, and the consent folding of transforms.consentState; empty
// values are left out, as tajo leaves them out. The driver checks that
// both write the same contacts for the same customers.
//
// On the bare webhook body (envelope false) it writes the contact alone:
// attributes, identifiers and consent. On tajo's envelope it reads the
// canonical customer in data and, like tajo's chain, writes the envelope
// with the three fields added.
func contactMapping(envelope bool) string {
	head := `let c = this
let tags = $c.tags.or("").split(",").map_each(t -> t.trim()).filter(t -> t != "")`
	if envelope {
		head = `root = this
let c = this.data
let tags = $c.tags.or([])`
	}
	// Direct assignments under if statements rather than object literals
	// filtered of empty values: the cheaper way to write it in Bloblang.
	return head + `
let n = $c.orders_count.or(0)
let spent = $c.total_spent.or("0").number()
let phone = $c.phone.or("").re_replace_all("[^+0-9]", "")
let phone = if $phone.has_prefix("00") { "+" + $phone.trim_prefix("00") } else { $phone }
if $c.first_name.or("") != "" { root.attributes.FIRSTNAME = $c.first_name }
if $c.last_name.or("") != "" { root.attributes.LASTNAME = $c.last_name }
if $phone != "" { root.attributes.SMS = $phone }
root.attributes.ORDER_COUNT = $n
root.attributes.TOTAL_SPENT = $spent
if $tags.length() > 0 { root.attributes.TAGS = $tags.join(", ") }
root.attributes.CUSTOMER_TYPE = if $n == 0 { "prospect" } else if $n == 1 { "new" } else { "returning" }
if $c.locale.or("") != "" { root.attributes.LANGUAGE = $c.locale }
let tier = if $tags.any(t -> t.trim().lowercase() == "vip") { "vip" } else if $spent >= 1000 { "gold" } else if $spent >= 500 { "silver" } else if $n >= 1 { "bronze" } else { "" }
if $tier != "" { root.attributes.VIP_TIER = $tier }
root.attributes.AOV = if $n == 0 { 0 } else { ($spent / $n * 100).round() / 100 }
if $c.email.or("") != "" { root.identifiers.email = $c.email }
if $c.id.or(0) != 0 { root.identifiers.ext_id = $c.id.string() }
if $phone != "" { root.identifiers.phone = $phone }
let fold = {"subscribed": "subscribed", "pending": "pending", "unsubscribed": "unsubscribed", "redacted": "unsubscribed", "invalid": "unsubscribed"}
let email = $fold.get($c.email_marketing_consent.state.or("").lowercase())
if $email != null { root.consent.email = $email }
let sms = $fold.get($c.sms_marketing_consent.state.or("").lowercase())
if $sms != null { root.consent.sms = $sms }
`
}

// benthosConfig reads standard input, runs the mapping on batches of
// batch messages (on every core: pipeline.threads is the default, one per
// CPU) and appends lines to out. Metrics and the HTTP server are off, as a
// file-to-file job would run; the file output is Benthos's own (no fsync).
func benthosConfig(out string, batch int, envelope bool) string {
	return fmt.Sprintf(`http: {enabled: false}
logger: {level: WARN}
metrics: {none: {}}
input:
  batched:
    child: {stdin: {}}
    policy: {count: %d, period: 50ms}
pipeline:
  processors:
    - mapping: |
%s
output:
  file: {path: %q, codec: lines}
`, batch, indent(contactMapping(envelope), "        "), out)
}

// indent prefixes every non-empty line of s with pre, for a YAML block.
func indent(s, pre string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pre + l
		}
	}
	return strings.Join(lines, "\n")
}
