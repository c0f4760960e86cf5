# antspace_exporter — build, test, demo.
GO        ?= go
BIN       ?= bin
PKG        = github.com/prometheus/common/version
VERSION   ?= $(shell cat VERSION)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDUSER ?= $(shell id -un 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
BUILDDATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)
LDFLAGS    = -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Branch=$(BRANCH) \
             -X $(PKG).BuildUser=$(BUILDUSER) -X $(PKG).BuildDate=$(BUILDDATE)
GOFLAGS_BUILD = -trimpath -ldflags "$(LDFLAGS)"

.PHONY: all build test test-go lint docs demo bench fuzz soak clean

all: lint build test

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/antspace_exporter ./cmd/antspace_exporter
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/antspace_mock ./cmd/antspace_mock

# Everything CI runs: lint, the race-enabled test suite (rules with promtool,
# Alertmanager routing with amtool, end-to-end with real Prometheus and
# Alertmanager when installed).
test: lint build
	$(GO) test -race -count=1 ./...

lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...

# docs/metrics.md is generated from the metric table in collector/.
docs:
	$(GO) run ./tools/metricsdoc > docs/metrics.md

demo: build
	BIN=$(BIN) ./scripts/demo.sh

# Load harness: mock fleet + exporter + generator, floor vs exporter table in
# bench/results/. BENCH_N (default 1000, up to 10000), BENCH_DURATION,
# BENCH_INTERVAL, BENCH_EXPORTER_ARGS; see bench/main.go.
bench: build
	BIN=$(BIN) $(GO) run ./bench

clean:
	rm -rf $(BIN)
