# antspace_exporter — build, test, demo.
GO        ?= go
BIN       ?= bin
PKG        = github.com/prometheus/common/version
VERSION   ?= $(shell cat VERSION)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH    ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
BUILDUSER ?= $(shell id -un 2>/dev/null || echo unknown)@$(shell hostname 2>/dev/null || echo unknown)
BUILDDATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)
LDFLAGS_EXTRA ?=
LDFLAGS    = $(LDFLAGS_EXTRA) -X $(PKG).Version=$(VERSION) -X $(PKG).Revision=$(REVISION) -X $(PKG).Branch=$(BRANCH) \
             -X $(PKG).BuildUser=$(BUILDUSER) -X $(PKG).BuildDate=$(BUILDDATE)
GOFLAGS_BUILD = -trimpath -ldflags "$(LDFLAGS)"

.PHONY: all build test test-go lint docs demo bench bench-dashboard fuzz fuzz-short vulncheck soak release clean prom3 mixin

# Build and test with the toolchain go.mod names (fetched through the module
# proxy when the installed Go is older), so vulncheck judges the standard
# library the binary is built with. GOTOOLCHAIN=local keeps the installed Go.
export GOTOOLCHAIN ?= auto

all: lint build test

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/antspace_exporter ./cmd/antspace_exporter
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN)/antspace_mock ./cmd/antspace_mock

# Everything CI runs: lint, the race-enabled test suite (rules with promtool,
# Alertmanager routing with amtool, end-to-end with real Prometheus and
# Alertmanager when installed).
#
# TEST_TIMEOUT bounds the whole go test run per package binary: more than
# twice the slowest package on a loaded 2-core machine (see docs/testing.md;
# e2e runs on two Prometheus versions), so that it only ends a test that hangs.
TEST_TIMEOUT ?= 30m
test: lint build vulncheck prom3
	$(GO) test -race -count=1 -timeout=$(TEST_TIMEOUT) ./...
	@$(MAKE) --no-print-directory fuzz-short

# golangci-lint v2 with .golangci.yml; looked for on PATH, then in
# $(go env GOPATH)/bin where go install puts it (.ci/run installs it). Runs
# on a shared machine wait for each other (--allow-serial-runners).
GOLANGCI_LINT_VERSION ?= v2.15.0
GOLANGCI_LINT ?= $(shell command -v golangci-lint 2>/dev/null || { p="$$($(GO) env GOPATH 2>/dev/null | cut -d: -f1)/bin/golangci-lint"; [ -x "$$p" ] && echo "$$p"; })
lint:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...
	@if [ -z "$(GOLANGCI_LINT)" ]; then echo "golangci-lint not found on PATH or in \$$(go env GOPATH)/bin; run: go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)"; exit 1; fi
	$(GOLANGCI_LINT) run --allow-serial-runners ./...

# docs/metrics.md is generated from the metric table in collector/; the rule
# file and the dashboards from rules/ and dashboards/ (cmd/antspace_mixin).
docs:
	$(GO) run ./tools/metricsdoc > docs/metrics.md
	$(GO) generate ./rules ./dashboards

# Render the rules and dashboards for a site: make mixin SITE=site.yml OUT=dir
SITE ?=
OUT  ?= $(BIN)/mixin
mixin:
	$(GO) run ./cmd/antspace_mixin $(if $(SITE),--config $(SITE)) --output-dir $(OUT)

# Prometheus 3 (prometheus, promtool) for the rule and end-to-end tests, built
# once from the module proxy into $(HOME)/.cache/antspace/prom3 (see
# scripts/prom3.sh; ANTSPACE_PROM3_DIR overrides the directory).
prom3:
	GO=$(GO) ./scripts/prom3.sh

demo: build
	BIN=$(BIN) ./scripts/demo.sh

# Load harness: mock fleet + exporter + generator, floor vs exporter table in
# bench/results/. BENCH_N (default 1000, up to 10000), BENCH_DURATION,
# BENCH_INTERVAL, BENCH_EXPORTER_ARGS; see bench/main.go.
bench: build
	BIN=$(BIN) $(GO) run ./bench

# Fleet dashboard at scale (issue #18): mock fleet + exporter + Prometheus 3
# (make prom3) scraping it, 6 h of history backfilled with promtool, every
# fleet-dashboard query timed with and without the recording rules;
# bench/results/dashboard-n<N>.md and .csv. BENCH_N (default 2000),
# BENCH_DASHBOARD_ARGS (e.g. -reps 3); see bench/dashboard/main.go. Needs
# about 25 GB of free disk in $$TMPDIR at 3000 containers. Not part of test.
BENCH_DASHBOARD_ARGS ?=
bench-dashboard: build prom3
	BIN=$(BIN) $(GO) run ./bench/dashboard $(BENCH_DASHBOARD_ARGS)

# Fuzz targets as package:Target. fuzz-short (part of test) runs each for
# FUZZTIME_SHORT; fuzz for FUZZTIME (e.g. make fuzz FUZZTIME=1h). A failing
# input is written to <package>/testdata/fuzz/<Target>/: commit it, it then
# runs as a regression test in go test.
#
# FUZZTIME_SHORT is a count of inputs, not a duration: with a duration Go's
# fuzzing coordinator can fail a run at its own deadline with a bare "context
# deadline exceeded" on a loaded machine (golang/go#75804, fixed in Go 1.27);
# a count has no deadline to race, a loaded machine only takes longer.
FUZZ_TARGETS   = ./collector:FuzzProbePayload ./device/payload:FuzzEachMember ./config:FuzzParse \
                 ./control:FuzzControlParams ./control:FuzzControlHandler
FUZZTIME_SHORT ?= 5000x
FUZZTIME       ?= 5m
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_SHORT) FUZZMINIMIZETIME=100x FUZZ_TIMEOUT=$(TEST_TIMEOUT)
FUZZMINIMIZETIME ?= 60s
FUZZ_TIMEOUT     ?= 0
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz: $$fn in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) -timeout=$(FUZZ_TIMEOUT) $$pkg; \
	done

# govulncheck over the module; fails on reachable vulnerabilities. See
# scripts/vulncheck.sh for the database it uses when vuln.go.dev is unreachable.
vulncheck:
	GO=$(GO) ./scripts/vulncheck.sh

# Soak (not in CI): a fleet with a share of misbehaving containers probed for
# SOAK_DURATION; prints the exporter's RSS and goroutines over time and a
# verdict on growth. SOAK_ARGS passes more flags (see test/soak/main.go).
SOAK_DURATION ?= 10m
soak: build
	$(GO) run ./test/soak -exporter $(BIN)/antspace_exporter -duration $(SOAK_DURATION) $(SOAK_ARGS)

# Release archives in $(DIST) (git-ignored): static, stripped linux/amd64 and
# linux/arm64 binaries with LICENSE, README, examples, rules, dashboards, the
# systemd unit, and sha256sums.txt. See scripts/release.sh.
DIST ?= dist
release:
	GO=$(GO) DIST=$(DIST) VERSION=$(VERSION) ./scripts/release.sh

clean:
	rm -rf $(BIN) $(DIST)
