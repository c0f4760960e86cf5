#!/usr/bin/env bash
# Build Prometheus 3 (prometheus and promtool) from the Go module proxy into a
# cache directory, once; the rule tests and the end-to-end suite run on it next
# to Debian's Prometheus (internal/testutil.PromBuilds). Binaries stay in the
# cache, never in the repository.
#
#   ANTSPACE_PROM3_DIR  install directory (default $HOME/.cache/antspace/prom3)
#   PROM3_VERSION       Go module version (default v0.316.0, keep in step with
#                       internal/testutil.Prom3Version)
set -euo pipefail
GO=${GO:-go}
VERSION=${PROM3_VERSION:-v0.316.0}
DIR=${ANTSPACE_PROM3_DIR:-$HOME/.cache/antspace/prom3}
stamp="$DIR/.version"
if [ -x "$DIR/prometheus" ] && [ -x "$DIR/promtool" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$VERSION" ]; then
  exit 0
fi
mkdir -p "$DIR"
echo "prom3: building prometheus and promtool $VERSION into $DIR (about 8 minutes on 2 cores, once)" >&2
tmp=$(mktemp -d "$DIR/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Outside this module: go install pkg@version resolves Prometheus' own go.mod.
if ! (cd "$tmp" && GOBIN="$tmp" "$GO" install \
  "github.com/prometheus/prometheus/cmd/prometheus@$VERSION" \
  "github.com/prometheus/prometheus/cmd/promtool@$VERSION"); then
  # Without the module proxy a developer's make test still runs (the
  # Prometheus 3 subtests skip); CI must have it.
  if [ -n "${CI:-}" ]; then
    echo "prom3: build failed" >&2
    exit 1
  fi
  echo "prom3: build failed; the Prometheus 3 subtests will be skipped" >&2
  exit 0
fi
mv "$tmp/prometheus" "$tmp/promtool" "$DIR/"
echo "$VERSION" > "$stamp"
"$DIR/promtool" --version | head -1 >&2
