#!/usr/bin/env bash
# govulncheck over the module (make vulncheck; part of make test).
#
# Fails on vulnerabilities reachable from our code, in dependencies or in the
# Go standard library of the toolchain that builds the binary. Unreachable
# ones (in imported packages or required modules, but not called) are listed
# by govulncheck and do not fail.
#
# The vulnerability database: the entries' source, the golang.org/x/vulndb
# repository, fetched as a Go module through GOPROXY at its newest commit and
# indexed locally with the repository's own indexdb command (the project's
# machines reach only the package registries). VULNCHECK_DB=online asks
# govulncheck's default, https://vuln.go.dev, first. Only when no database is
# reachable is the check skipped, loudly; VULNCHECK_REQUIRED=1 fails then.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}

bin=$(command -v govulncheck || true)
if [ -z "$bin" ]; then
  gobin=$($GO env GOBIN)
  [ -n "$gobin" ] || gobin="$($GO env GOPATH)/bin"
  bin="$gobin/govulncheck"
  if [ ! -x "$bin" ]; then
    echo "vulncheck: installing govulncheck $GOVULNCHECK_VERSION"
    $GO install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION"
  fi
fi

echo "vulncheck: $($GO version), $("$bin" -version 2>/dev/null | grep -m1 -i 'scanner' || echo govulncheck)"

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# run <db flag...>: 0 clean, 3 reachable vulnerabilities, 2 database unreachable.
run() {
  set +e
  "$bin" "$@" ./... >"$out" 2>&1
  local rc=$?
  set -e
  if [ $rc -ne 0 ] && [ $rc -ne 3 ] && grep -q 'fetching vulnerabilities\|no such host\|dial tcp\|connection refused\|i/o timeout' "$out"; then
    return 2
  fi
  cat "$out"
  return $rc
}

report() {
  case $1 in
  0) echo "vulncheck: OK, no reachable vulnerabilities ($2)" ;;
  3)
    echo "vulncheck: FAILED: reachable vulnerabilities ($2), see above."
    if grep -q 'Standard library' "$out"; then
      echo "vulncheck: some are in the Go standard library of $($GO env GOVERSION): build with the 'Fixed in' Go release" \
        "(go.mod's toolchain line; GOTOOLCHAIN=auto fetches it through the module proxy)."
    fi
    ;;
  *) echo "vulncheck: FAILED: govulncheck exited $1 ($2)" ;;
  esac
  exit "$1"
}

# The online database is asked only on request (VULNCHECK_DB=online): the
# project's machines reach no network but the package registries, so by
# default nothing is sent anywhere else.
if [ "${VULNCHECK_DB:-proxy}" = online ]; then
  rc=0
  run || rc=$?
  if [ $rc -ne 2 ]; then
    report $rc "database https://vuln.go.dev"
  fi
  echo "vulncheck: https://vuln.go.dev is unreachable: $(grep -m1 'fetching vulnerabilities\|dial tcp' "$out" || true)"
fi

# Fallback: the database's source through the module proxy.
cache="$($GO env GOCACHE)/antspace-vulndb"
set +e
version=$($GO list -m -f '{{.Version}}' golang.org/x/vulndb@latest 2>"$out")
lrc=$?
set -e
if [ $lrc -eq 0 ] && [ -n "$version" ]; then
  db="$cache/$version"
  if [ ! -f "$db/index/modules.json" ]; then
    echo "vulncheck: building the database from golang.org/x/vulndb@$version (fetched through $($GO env GOPROXY))"
    src=$($GO mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
    rm -rf "$db.tmp" && mkdir -p "$cache"
    $GO run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$src/data/osv" -out "$db.tmp"
    mv "$db.tmp" "$db"
  fi
  commit_time=$($GO list -m -f '{{.Time}}' "golang.org/x/vulndb@$version")
  rc=0
  run -db "file://$db" || rc=$?
  if [ $rc -ne 2 ]; then
    report $rc "database golang.org/x/vulndb@$version of $commit_time, via the module proxy"
  fi
fi

echo "#################################################################"
echo "vulncheck: SKIPPED: no vulnerability database is reachable"
echo "  (golang.org/x/vulndb via GOPROXY, or https://vuln.go.dev with VULNCHECK_DB=online)."
echo "  Nothing was checked. Set VULNCHECK_REQUIRED=1 to fail instead."
echo "#################################################################"
cat "$out" >&2
if [ "${VULNCHECK_REQUIRED:-0}" = 1 ]; then
  exit 1
fi
exit 0
