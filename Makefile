# tajo — see README.md. `make run` and `make test` work on a fresh machine
# with Go (and apt/npm for the ClickHouse test servers).

GO      ?= go
BIN     := bin/tajo
CONFIG  ?= pipeline.yaml
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# The embedded ClickHouse library (libchdb.so, ~160 MB) is fetched once into
# .cache/chdb by scripts/chdb-lib.sh; the ClickHouse 18.16 test server is
# Debian's clickhouse-server, installed by scripts/clickhouse-server.sh.
CHDB_LIB = CHDB_LIB_PATH=$$(scripts/chdb-lib.sh)
CH_TEST  = scripts/clickhouse-server.sh >/dev/null && TAJO_REQUIRE_CLICKHOUSE=1 $(CHDB_LIB)

.PHONY: all build run test test-unit bench bench-brevo bench-peers lint fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/tajo

## run: build and run the pipeline on its embedded defaults (Ctrl-C stops it);
## --dev simulates the Shopify store and Brevo account whose credentials are unset.
run: build
	$(CHDB_LIB) ./$(BIN) run --dev -c $(CONFIG)

## test: every test, unit and integration, with the race detector.
test:
	$(CH_TEST) $(GO) test -race -count=1 -tags integration -timeout 30m ./...

## test-unit: unit tests only (no integration tag).
test-unit:
	$(GO) test -race -count=1 ./...

## bench: throughput and allocations; compare runs with benchstat.
bench:
	$(GO) test -run '^$$' -bench 'Pipeline' -benchtime=100000x -benchmem ./pipeline/
	$(CH_TEST) $(GO) test -run '^$$' -bench . -benchmem -timeout 30m $$($(GO) list ./... | grep -v '/pipeline$$')

## bench-brevo: only issue 11's Brevo scenarios (part of bench): the tajo
## binary against a simulated Brevo at 10 req/s whose imports take 2 s.
bench-brevo:
	$(GO) test -run '^$$' -bench 'Brevo' -benchtime 1x -timeout 15m ./cmd/tajo/

## bench-peers: tajo beside Benthos v4 on the same BENCH_N customers (default
## 300000), three alternating runs each: msgs/s, CPU per message, max RSS and
## the ratios (bench/README.md). A separate module: Benthos stays out of go.mod.
BENCH_N ?= 300000
bench-peers:
	cd bench && BENCH_N=$(BENCH_N) $(GO) run . -go $(GO) -repo ..

## lint: go vet and a gofmt check.
lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## fuzz: run each fuzz target for FUZZTIME (default 20s).
FUZZTIME ?= 20s
FUZZ_TARGETS := \
	./pipeline/config/:FuzzParse ./schemas/:FuzzDecodeEvent ./schemas/:FuzzUnquoteAgreesWithJSON \
	./sources/shopify/:FuzzNormalize ./sources/shopify/:FuzzVerifyHMAC ./sources/shopify/:FuzzWebhook \
	./sources/file/:FuzzShopKey \
	./transforms/expression/:FuzzE164 ./transforms/expression/:FuzzToDate ./transforms/:FuzzParseEnvelope \
	./transforms/:FuzzMapExpression ./transforms/:FuzzFastTags
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "== $$name ($$pkg)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

clean:
	rm -rf bin data
