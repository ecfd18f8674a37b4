package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tajo/tajo/pipeline/config"
)

// Every key pipeline.yaml documents has an effect, or validate refuses it,
// or (a seed key whose feature comes next) warns (DESIGN.md invariant 9).
// keyProofs says, for each key, how that is proven:
//
//   - "<package dir> <TestName>": the test that shows the key's effect;
//     the test must exist there;
//   - "warns <value>": validate accepts the key set to value with a
//     warning at its path, checked here;
//   - "refused <value>": validate refuses the key set to value at its
//     path, checked here.
//
// Nothing else passes: an "unproven: <why>" entry fails the test, so a key
// added later comes with its proof.
//
// A key is a leaf of the file's tree (a mapping with keys is proven by its
// keys), a list's items are "[]", maps keyed by user data are "*", and
// commented-out YAML lines (`# key: {…}`, `# - {…}`) document keys too.
var keyProofs = map[string]string{
	"version":              "refused 2",
	"data_dir":             "cmd/tajo TestDataDirIsPrivate",
	"server.listen":        "pipeline TestRunnerControlListener",
	"server.read_timeout":  "pipeline TestServerTimeoutsCutSlowRequestsAndAnswers",
	"server.write_timeout": "pipeline TestServerTimeoutsCutSlowRequestsAndAnswers",
	"control.listen":       "pipeline TestRunnerControlListener",
	"control.token":        "pipeline/server TestControlTokenIsGeneratedOnceAndPrivate",
	"log.level":            "cmd/tajo TestLogLevelAndFormat",
	"log.format":           "cmd/tajo TestLogLevelAndFormat",

	"broker.brokers":                  "pipeline/kafka TestNewConnSecurity",
	"broker.topic_prefix":             "pipeline TestTopicPrefixNamesTheEventsTopic",
	"broker.partitions":               "pipeline/kafka TestCreatedTopicConfig",
	"broker.replication_factor":       "pipeline/kafka TestCreatedTopicConfig",
	"broker.consumer_group":           "pipeline/kafka TestWriterAndReaderSettings",
	"broker.client_id":                "pipeline/kafka TestClientIDReachesTheBroker",
	"broker.write_timeout":            "pipeline TestShutdownDoesNotWaitForAProduceRetryLoop",
	"broker.batch_timeout":            "pipeline/kafka TestWriterAndReaderSettings",
	"broker.max_message_bytes":        "pipeline/kafka TestLimitFallsBackToTheConfiguredOne",
	"broker.compression":              "pipeline/kafka TestCompressibleRecordAboveTheLimitFitsCompressed",
	"broker.retention":                "pipeline/kafka TestCreatedTopicConfig",
	"broker.tls.enabled":              "pipeline/kafka TestNewConnSecurity",
	"broker.tls.ca_file":              "pipeline/kafka TestNewConnSecurity",
	"broker.tls.cert_file":            "refused cert.pem",
	"broker.tls.key_file":             "refused key.pem",
	"broker.tls.server_name":          "pipeline/kafka TestNewConnSecurity",
	"broker.tls.insecure_skip_verify": "pipeline/kafka TestTLSInsecureSkipVerifyAndServerName",
	"broker.sasl.mechanism":           "pipeline/kafka TestNewConnSecurity",
	"broker.sasl.username":            "pipeline/kafka TestNewConnSecurity",
	"broker.sasl.password":            "pipeline/kafka TestNewConnSecurity",
	"broker.embedded.listen":          "pipeline/broker TestStartRefusesNonLoopback",
	"broker.embedded.fsync":           "pipeline/broker TestRestartKeepsTopicsMessagesAndOffsets",
	"broker.embedded.sasl.mechanism":  "pipeline/broker TestSASL",
	"broker.embedded.sasl.username":   "pipeline/broker TestSASL",
	"broker.embedded.sasl.password":   "pipeline/broker TestSASL",

	"pipeline.batch_size":          "pipeline TestBatchSizeBoundsSourceReadsAndBatches",
	"pipeline.batch_wait":          "pipeline TestBatchWaitFlushesAPartialBatch",
	"pipeline.max_in_flight":       "pipeline TestSinkDownHoldsCommitsAndBoundsMemory",
	"pipeline.max_in_flight_bytes": "pipeline TestMaxInFlightBytesBoundsLargeRecords",
	"pipeline.commit_interval":     "pipeline/kafka TestWriterAndReaderSettings",
	"pipeline.progress_interval":   "pipeline TestProgressIntervalPacesTheProgressLog",
	"pipeline.shutdown_timeout":    "pipeline TestShutdownDoesNotWaitForAProduceRetryLoop",
	"pipeline.retry.initial":       "pipeline TestRetryInitialIsTheFlowsFirstWait",
	"pipeline.retry.max":           "pipeline TestBackoffFollowsTheRetryKeys",
	"pipeline.retry.multiplier":    "pipeline TestBackoffFollowsTheRetryKeys",
	"pipeline.retry.jitter":        "pipeline TestBackoffFollowsTheRetryKeys",
	"pipeline.retry.max_attempts":  "pipeline TestRetryMaxAttemptsIsFatal",
	"dead_letter.sink":             "cmd/tajo TestReplay",
	"dead_letter.path":             "pipeline TestRunnerDeadLettersRejectedRecordsToFile",
	"history.sink":                 "pipeline TestHistorySinkGetsEachRecordOnce",
	"plugins.dir":                  "plugins TestLaunchFromDir",
	"plugins.sha256.*":             "plugins TestLaunchRefusesUntrustedExecutables",

	"dev.simulate":                      "cmd/tajo TestMissingCredentialsStopTheStart",
	"dev.shopify.listen":                "cmd/tajo TestFirstRunWithoutCredentials",
	"dev.shopify.customers":             "cmd/tajo TestFirstRunWithoutCredentials",
	"dev.shopify.orders":                "cmd/tajo TestFirstRunWithoutCredentials",
	"dev.shopify.products":              "cmd/tajo TestFirstRunWithoutCredentials",
	"dev.shopify.checkouts":             "cmd/tajo TestDevShopifyCheckoutsSizeTheSimulatedStore",
	"dev.shopify.webhook_rate":          "cmd/tajo TestDevShopifyWebhookRatePacesTheWebhooks",
	"dev.brevo.listen":                  "cmd/tajo TestFirstRunWithoutCredentials",
	"dev.brevo.rate_limit":              "cmd/tajo TestDevBrevoRateLimitLimitsTheSimulatedAccount",
	"dev.brevo.general_tier":            "cmd/tajo TestDevBrevoGeneralTierLimitsEachGroup",
	"dev.brevo.import_time":             "cmd/tajo TestDevBrevoImportTimeKeepsImportsInProcess",
	"dev.brevo.import_time_per_contact": "cmd/tajo TestDevBrevoImportTimeKeepsImportsInProcess",

	"sources.generator.enabled":   "cmd/tajo TestKillNineLosesNothing",
	"sources.generator.count":     "sources/generator TestGeneratorDeterministicAndResumes",
	"sources.generator.rate":      "sources/generator TestGeneratorRate",
	"sources.generator.shops":     "sources/generator TestGeneratorDeterministicAndResumes",
	"sources.generator.seed":      "sources/generator TestGeneratorSeedGivesOtherEvents",
	"sources.generator.customers": "sources/generator TestGeneratorCustomersBoundsDistinctCustomers",
	"sources.file.enabled":        "cmd/tajo TestReplay",
	"sources.file.path":           "sources/file TestFileSourceReadsLinesAndResumes",
	"sources.file.follow":         "sources/file TestFileSourceFollowWaitsForWholeLine",
	"sources.file.max_line_bytes": "sources/file TestFileSourceLineTooLong",

	"connectors.shopify.enabled":                            "sources/shopify TestConfigProblems",
	"connectors.shopify.shop_url":                           "sources/shopify TestBackfillTwoStores",
	"connectors.shopify.api_version":                        "sources/shopify TestAPIVersionRetiredRefusedEndingWarned",
	"connectors.shopify.api_key":                            "sources/shopify TestTestConnectionChecksTheTokensApp",
	"connectors.shopify.api_secret":                         "sources/shopify TestHMACVectorsThroughEndpoint",
	"connectors.shopify.previous_api_secret":                "sources/shopify TestVerifyHMACEdges",
	"connectors.shopify.access_token":                       "sources/shopify TestTestConnection",
	"connectors.shopify.admin_url":                          "sources/shopify TestBackfillTwoStores",
	"connectors.shopify.lists.all_customers":                "cmd/tajo TestSeedListsAndProductsReachTheSink",
	"connectors.shopify.lists.buyers":                       "cmd/tajo TestSeedListsAndProductsReachTheSink",
	"connectors.shopify.lists.abandoned_cart":               "cmd/tajo TestSeedListsAndProductsReachTheSink",
	"connectors.shopify.stores[].shop_url":                  "sources/shopify TestBackfillTwoStores",
	"connectors.shopify.stores[].access_token":              "sources/shopify TestTestConnection",
	"connectors.shopify.stores[].api_secret":                "sources/shopify TestIngressTable",
	"connectors.shopify.stores[].previous_api_secret":       "sources/shopify TestVerifyHMACEdges",
	"connectors.shopify.stores[].api_version":               "sources/shopify TestAPIVersionRetiredRefusedEndingWarned",
	"connectors.shopify.stores[].admin_url":                 "sources/shopify TestBackfillTwoStores",
	"connectors.shopify.stores[].lists.all_customers":       "cmd/tajo TestSeedListsAndProductsReachTheSink",
	"connectors.shopify.stores[].lists.buyers":              "cmd/tajo TestSeedListsAndProductsReachTheSink",
	"connectors.shopify.stores[].lists.abandoned_cart":      "cmd/tajo TestSeedListsAndProductsReachTheSink",
	"connectors.shopify.sync.customers":                     "sources/shopify TestWebhookAnswers",
	"connectors.shopify.sync.orders":                        "sources/shopify TestWebhookAnswers",
	"connectors.shopify.sync.products.enabled":              "transforms TestConnectorProductSettingsFeedTheChain",
	"connectors.shopify.sync.products.include_variants":     "sinks/brevo TestProductVariantsAndImages",
	"connectors.shopify.sync.products.include_images":       "sinks/brevo TestProductVariantsAndImages",
	"connectors.shopify.sync.products.categories_as_tags":   "sinks/brevo TestProductTagsAsCategories",
	"connectors.shopify.sync.products.filter.status":        "transforms TestSeedProductFilterWithListedStages",
	"connectors.shopify.sync.products.filter.exclude_tags":  "transforms TestSeedProductFilterWithListedStages",
	"connectors.shopify.sync.carts":                         "sources/shopify TestWebhookAnswers",
	"connectors.shopify.sync.inventory.enabled":             "cmd/tajo TestShopifyWebhookFixtures",
	"connectors.shopify.sync.inventory.low_stock_threshold": "warns 10",
	"connectors.shopify.sync.inventory.out_of_stock_events": "warns true",
	"connectors.shopify.sync.backfill":                      "sources/shopify TestBackfillTwoStores",
	"connectors.shopify.sync.reconcile_every":               "sources/shopify TestReconcileFromCursor",
	"connectors.shopify.sync.page_size":                     "sources/shopify TestReconcileFromCursor",
	"connectors.shopify.sync.bulk_poll_interval":            "sources/shopify TestBackfillResumes",
	"connectors.shopify.dedupe_window":                      "sources/shopify TestSpecNamesDeliveries",
	"connectors.shopify.debug":                              "plugins TestConnectorLevelRaisesOnlyItsLines",
	"connectors.shopify.log_level":                          "sources/shopify TestConnectorLogLevel",
	"connectors.shopify.log_webhooks":                       "sources/shopify TestLogWebhooksLogsALinePerWebhook",

	"sinks.file.enabled":                        "cmd/tajo TestKillNineLosesNothing",
	"sinks.file.path":                           "sinks/file TestFileSinkAppendsAndRepairsTornLine",
	"sinks.clickhouse.enabled":                  "cmd/tajo TestConnectorsCommandsOnAKnownRun",
	"sinks.clickhouse.dsn":                      "sinks/clickhouse TestConfigFromYAML",
	"sinks.clickhouse.batch_rows":               "sinks/clickhouse TestChunkEnd",
	"sinks.clickhouse.flush_interval":           "cmd/tajo TestClickHouseOutageLosesNoHistory",
	"sinks.clickhouse.timeout":                  "sinks/clickhouse TestConfigValidate",
	"sinks.clickhouse.retention_days":           "sinks/clickhouse TestConfigValidate",
	"sinks.clickhouse.tls.enabled":              "sinks/clickhouse TestServerTLS",
	"sinks.clickhouse.tls.ca_file":              "sinks/clickhouse TestServerTLS",
	"sinks.clickhouse.tls.cert_file":            "sinks/clickhouse TestTLSClientSettingsReachTheServer",
	"sinks.clickhouse.tls.key_file":             "sinks/clickhouse TestTLSClientSettingsReachTheServer",
	"sinks.clickhouse.tls.server_name":          "sinks/clickhouse TestTLSClientSettingsReachTheServer",
	"sinks.clickhouse.tls.insecure_skip_verify": "sinks/clickhouse TestTLSClientSettingsReachTheServer",

	"sinks.brevo.enabled":                    "cmd/tajo TestBrevoEndToEndFixtures",
	"sinks.brevo.api_key":                    "sinks/brevo TestWrongKeyIsFatalAndKeyStaysSecret",
	"sinks.brevo.base_url":                   "sinks/brevo TestBaseURLMustBeHTTPSUnlessLoopback",
	"sinks.brevo.timeout":                    "sinks/brevo TestTimeoutIsRetryable",
	"sinks.brevo.lists.all_customers":        "sinks/brevo TestExplicitListsOverride",
	"sinks.brevo.lists.buyers":               "sinks/brevo TestExplicitListsOverride",
	"sinks.brevo.lists.abandoned_cart":       "sinks/brevo TestExplicitListsOverride",
	"sinks.brevo.lists_by_shop":              "sinks/brevo TestListsPerShop",
	"sinks.brevo.consent.resubscribe":        "sinks/brevo TestConsentPolicyApplied",
	"sinks.brevo.known_contacts.read":        "sinks/brevo TestKnownContactsReadOffOrBounded",
	"sinks.brevo.known_contacts.max_read":    "sinks/brevo TestKnownContactsReadOffOrBounded",
	"sinks.brevo.import_threshold":           "sinks/brevo TestContactsSingleAndImportAgree",
	"sinks.brevo.import_poll_interval":       "sinks/brevo TestImportCompletesAndMapsReports",
	"sinks.brevo.pipeline":                   "sinks/brevo TestFloodAcrossBatchesMakesFewLargeImports",
	"sinks.brevo.import.in_flight":           "refused 0",
	"sinks.brevo.import.notify_url":          "sinks/brevo TestImportCompletesOnNotifyURL",
	"sinks.brevo.import.polls_per_hour":      "refused -1",
	"sinks.brevo.batch.import.max_records":   "sinks/brevo TestImportSplitsUnderTheByteLimit",
	"sinks.brevo.batch.import.max_bytes":     "sinks/brevo TestImportSplitsUnderTheByteLimit",
	"sinks.brevo.batch.events.max_records":   "sinks/brevo TestEventBatchSplitsAt200",
	"sinks.brevo.batch.events.max_bytes":     "sinks/brevo TestEventBatchSplitsAt512KB",
	"sinks.brevo.batch.orders.max_records":   "sinks/brevo TestSendOrdersChunksBy1000",
	"sinks.brevo.batch.products.max_records": "sinks/brevo TestUpsertProductsChunksBy100AndIsIdempotent",
	"sinks.brevo.batch.lists.max_records":    "sinks/brevo TestListAddAndRemoveAreChunkedBy150",
	"sinks.brevo.concurrency.initial":        "sinks/brevo TestFloodUnderRateLimitAndFaults",
	"sinks.brevo.concurrency.max":            "sinks/brevo TestFloodUnderRateLimitAndFaults",
	"sinks.brevo.rate_limit":                 "sinks/brevo TestFloodUnderRateLimitAndFaults",
	"sinks.brevo.rate_share":                 "sinks/brevo TestDisciplineKeepsEachGroupToItsShare",
	"sinks.brevo.events.enabled":             "sinks/brevo TestNoRequestIsSkippedWithItsReason",
	"sinks.brevo.events.dedupe_window":       "sinks/brevo TestSentLogPrunesAfterWindow",
	"sinks.brevo.events.verify_delay":        "sinks/brevo TestCrashBeforeApplySendsOnceAfterVerifyDelay",
	"sinks.brevo.test_orders":                "sinks/brevo TestTestOrdersStartNothing",
	"sinks.brevo.ecommerce.enabled":          "sinks/brevo TestNoRequestIsSkippedWithItsReason",
	"sinks.brevo.historical.sources":         "sinks/brevo TestHistoricalOrdersNeverTriggerAutomations",
	"sinks.brevo.historical.max_age":         "sinks/brevo TestHistoricalMaxAgeMakesOldEventsHistorical",
	"sinks.brevo.attributes":                 "sinks/brevo TestAttributesAtStart",

	// The field mapping's defaults, each renamed or dropped by one test
	// (the shipped tests in pipeline.yaml expect the defaults).
	"field_mapping.email":                   "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.id":                      "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.first_name":              "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.last_name":               "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.phone":                   "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.email_marketing_consent": "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.sms_marketing_consent":   "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.orders_count":            "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.total_spent":             "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.last_order_date":         "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.tags":                    "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.customer_type":           "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.preferred_language":      "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.loyalty_tier":            "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.average_order_value":     "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",
	"field_mapping.days_since_last_order":   "transforms TestEveryFieldMappingKeyRenamesOrDropsItsTarget",

	"transforms.timezone":                        "transforms TestRecencyCountsWholeDaysInTheShopTimezone",
	"transforms.phone_country":                   "transforms TestDefaultChainOverEveryWebhookFixture",
	"transforms.shops.*.timezone":                "transforms TestFunctionLibraryExamples",
	"transforms.shops.*.phone_country":           "transforms TestFunctionLibraryExamples",
	"transforms.dedupe_window":                   "transforms TestGuardPrunesExpiredSeenMarks",
	"transforms.stages[].name":                   "transforms TestRouteAndFilter",
	"transforms.stages[].type":                   "transforms TestRouteAndFilter",
	"transforms.stages[].fields.*":               "transforms TestTypoFailsValidateWithPathAndField",
	"transforms.stages[].when":                   "transforms TestMapStageWhenRestrictsItsEvents",
	"transforms.stages[].condition":              "transforms TestRouteAndFilter",
	"transforms.stages[].sinks.*":                "transforms TestRouteAndFilter",
	"transforms.stages[].products.filter.status": "transforms TestProductFilterFixture",

	"tests[].name":   "transforms TestRunTestsReportsDiffs",
	"tests[].now":    "transforms TestRunTestsReportsDiffs",
	"tests[].input":  "transforms TestRunTestsReportsDiffs",
	"tests[].inputs": "transforms TestRunTestsReportsDiffs",
	"tests[].expect": "transforms TestRunTestsReportsDiffs",
}

// unmentioned are keys whose named test never names the key or its Go
// field: it may set the key through a helper or prove only the default.
// A debt to pay by naming (or writing) a test that sets the key; the list
// may only shrink, and the walk fails when a listed key's test names it.
var unmentioned = map[string]bool{
	"broker.partitions":                                    true,
	"broker.replication_factor":                            true,
	"broker.consumer_group":                                true,
	"broker.compression":                                   true,
	"sources.generator.enabled":                            true,
	"sources.file.enabled":                                 true,
	"connectors.shopify.shop_url":                          true,
	"connectors.shopify.api_secret":                        true,
	"connectors.shopify.previous_api_secret":               true,
	"connectors.shopify.admin_url":                         true,
	"connectors.shopify.stores[].shop_url":                 true,
	"connectors.shopify.stores[].api_secret":               true,
	"connectors.shopify.stores[].previous_api_secret":      true,
	"connectors.shopify.stores[].admin_url":                true,
	"connectors.shopify.sync.products.enabled":             true,
	"connectors.shopify.sync.products.categories_as_tags":  true,
	"connectors.shopify.sync.products.filter.exclude_tags": true,
	"connectors.shopify.sync.carts":                        true,
	"connectors.shopify.sync.inventory.enabled":            true,
	"connectors.shopify.sync.reconcile_every":              true,
	"connectors.shopify.sync.bulk_poll_interval":           true,
	"sinks.file.enabled":                                   true,
	"sinks.clickhouse.enabled":                             true,
	"sinks.clickhouse.batch_rows":                          true,
	"sinks.brevo.enabled":                                  true,
	"sinks.brevo.lists.abandoned_cart":                     true,
	"sinks.brevo.import_poll_interval":                     true,
	"sinks.brevo.batch.import.max_records":                 true,
	"sinks.brevo.batch.events.max_records":                 true,
	"sinks.brevo.batch.events.max_bytes":                   true,
	"sinks.brevo.batch.orders.max_records":                 true,
	"sinks.brevo.batch.products.max_records":               true,
	"sinks.brevo.batch.lists.max_records":                  true,
	"sinks.brevo.concurrency.initial":                      true,
	"sinks.brevo.events.dedupe_window":                     true,
	"sinks.brevo.historical.sources":                       true,
	"tests[].now":                                          true,
	"tests[].inputs":                                       true,
}

// userKeyed are maps whose keys are the user's data (shop domains,
// plugin names, attribute names, route targets), walked as "*".
var userKeyed = []string{"plugins.sha256", "transforms.shops", "sinks.brevo.lists_by_shop", "sinks.brevo.attributes",
	"transforms.stages[].fields", "transforms.stages[].sinks"}

// dataKeys hold data, not configuration: their insides are not keys.
var dataKeys = []string{"tests[].input", "tests[].inputs", "tests[].expect"}

type keyAt struct {
	path      string
	line, col int
}

// documentedKeys walks pipeline.yaml: every key of its tree and of its
// commented-out YAML lines, reduced to the leaves.
func documentedKeys(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	var keys []keyAt
	walkKeys(root.Content[0], "", &keys)
	tree := slices.Clone(keys)
	// Commented-out YAML documents keys too: `# key: {…}` or `# key: […]`
	// belongs to the mapping its indentation is in, `# - {…}` is an item
	// of the list below it.
	commented := regexp.MustCompile(`^(\s*)# ((- )?\{.*\}|[a-z_][a-z0-9_]*: [\[{].*)$`)
	for i, line := range strings.Split(string(b), "\n") {
		m := commented.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		lineNo, col := i+1, len(m[1])+1
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(m[2]), &n); err != nil {
			t.Errorf("pipeline.yaml:%d: a commented-out example is not YAML: %v", lineNo, err)
			continue
		}
		parent := ""
		if m[3] != "" {
			next := 0
			for _, k := range tree {
				if k.line > lineNo && k.col == col && (next == 0 || k.line < next) {
					parent, next = k.path, k.line
				}
			}
			walkKeys(n.Content[0].Content[0], parent+"[]", &keys)
			continue
		}
		prev := 0
		for _, k := range tree {
			if k.line < lineNo && k.col < col && k.line > prev {
				parent, prev = k.path, k.line
			}
		}
		walkKeys(n.Content[0], parent, &keys)
	}
	var out []string
	for _, k := range keys {
		container := false
		for _, o := range keys {
			if strings.HasPrefix(o.path, k.path+".") || strings.HasPrefix(o.path, k.path+"[]") {
				container = true
				break
			}
		}
		if !container && !slices.Contains(out, k.path) {
			out = append(out, k.path)
		}
	}
	slices.Sort(out)
	return out
}

func walkKeys(n *yaml.Node, path string, out *[]keyAt) {
	if slices.Contains(dataKeys, path) {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			name := k.Value
			if slices.Contains(userKeyed, path) {
				name = "*"
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			*out = append(*out, keyAt{p, k.Line, k.Column})
			walkKeys(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			walkKeys(c, path+"[]", out)
		}
	}
}

// testFuncs maps the Test functions of the _test.go files in dir to
// their source.
func testFuncs(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", dir, "*_test.go"))
	out := map[string]string{}
	re := regexp.MustCompile(`(?m)^func (Test\w+)\(.*$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		for _, m := range re.FindAllStringSubmatchIndex(src, -1) {
			body := src[m[0]:m[1]] // a one-line function
			if !strings.HasSuffix(body, "}") {
				end := strings.Index(src[m[0]:], "\n}\n")
				if end < 0 {
					end = len(src) - m[0]
				}
				body = src[m[0] : m[0]+end]
			}
			out[src[m[2]:m[3]]] = body
		}
	}
	return out
}

// mentions reports whether a test's source names key: its YAML name
// (the last part of the path) or the Go field it decodes into.
func mentions(body, key string) bool {
	parts := strings.FieldsFunc(strings.ReplaceAll(key, "[]", ""), func(r rune) bool { return r == '.' })
	leaf := ""
	for _, p := range parts {
		if p != "*" {
			leaf = p
		}
	}
	field := ""
	for _, w := range strings.Split(leaf, "_") {
		if w != "" {
			field += strings.ToUpper(w[:1]) + w[1:]
		}
	}
	return strings.Contains(body, leaf) || strings.Contains(strings.ToLower(body), strings.ToLower(field))
}

// TestEveryDocumentedKeyIsProven walks pipeline.yaml and fails for a key
// keyProofs does not list, a listed key the file no longer documents, a
// named test that does not exist or never names its key (unmentioned
// aside), and a "warns"/"refused" that validate does not do.
func TestEveryDocumentedKeyIsProven(t *testing.T) {
	keys := documentedKeys(t, filepath.Join("..", "..", "pipeline.yaml"))
	tests := map[string]map[string]string{}
	for _, k := range keys {
		proof, ok := keyProofs[k]
		if !ok {
			t.Errorf("pipeline.yaml documents %s, which keyProofs does not list: name the test that proves its effect, or make validate refuse or warn", k)
			continue
		}
		kind, arg, _ := strings.Cut(proof, " ")
		switch {
		case kind == "unproven:":
			t.Errorf("%s is unproven (%s): write the test that fails when the key is ignored, or make validate refuse or warn", k, arg)
		case kind == "warns" || kind == "refused":
			checkVerdict(t, k, kind, arg)
		default:
			if tests[kind] == nil {
				tests[kind] = testFuncs(t, kind)
			}
			body, ok := tests[kind][arg]
			switch {
			case !ok:
				t.Errorf("%s: %s names %s in %s, which has no such test", k, proof, arg, kind)
			case mentions(body, k) && unmentioned[k]:
				t.Errorf("%s: %s names it now: remove it from unmentioned", k, arg)
			case !mentions(body, k) && !unmentioned[k]:
				t.Errorf("%s: %s never names the key or its Go field: name the test that sets it", k, arg)
			}
		}
	}
	for k := range keyProofs {
		if !slices.Contains(keys, k) {
			t.Errorf("keyProofs lists %s, which pipeline.yaml does not document", k)
		}
	}
	t.Logf("%d documented keys, each proven", len(keys))
}

// checkVerdict sets key to value in a configuration that is otherwise
// valid and checks that validate warns (and accepts) or refuses at key.
func checkVerdict(t *testing.T, key, kind, value string) {
	t.Helper()
	base := map[string]any{"version": 1, "data_dir": t.TempDir(),
		"connectors": map[string]any{"shopify": map[string]any{"shop_url": "a.myshopify.com", "api_secret": "s", "access_token": "t"}},
		"sinks":      map[string]any{"file": map[string]any{"path": "out.jsonl"}}}
	var v any
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	m := base
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
	b, _ := yaml.Marshal(base)
	cfg, err := config.Parse(b, func(string) (string, bool) { return "", false })
	var problems, warnings []string
	if ce, ok := err.(*config.Error); ok {
		for _, p := range ce.Problems {
			problems = append(problems, p.String())
		}
	} else if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	if cfg != nil {
		for _, w := range cfg.Warnings {
			warnings = append(warnings, w.String())
		}
	}
	// At key, or at the mapping holding it (a rule about two keys).
	at := func(list []string) bool {
		for _, s := range list {
			path, _, _ := strings.Cut(s, ": ")
			if path == key || strings.HasPrefix(key, path+".") && path != "" {
				return true
			}
		}
		return false
	}
	switch {
	case kind == "warns" && (len(problems) > 0 || !at(warnings)):
		t.Errorf("%s: %s: want accepted with a warning there; problems %q, warnings %q", key, value, problems, warnings)
	case kind == "refused" && !at(problems):
		t.Errorf("%s: %s: want refused there; problems %q", key, value, problems)
	}
}

func TestDocumentedKeysWalkNestedAndCommented(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte(`a:
  b: 1
  # c: {d: 2, e: [x]}
  c: true
  # - {m: 2}
  list:
    - {n: 1}
  list2: []
tests:
  - {name: x, input: {deep: 1}}
`), 0o600)
	got := fmt.Sprint(documentedKeys(t, path))
	if want := "[a.b a.c.d a.c.e a.list2 a.list[].m a.list[].n tests[].input tests[].name]"; got != want {
		t.Errorf("keys %s, want %s", got, want)
	}
}
