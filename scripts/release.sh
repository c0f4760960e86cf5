#!/usr/bin/env bash
# Builds the release archives: static (CGO_ENABLED=0), stripped exporter
# binaries for linux/amd64 and linux/arm64 with version information
# (antspace_exporter_build_info, --version), each in
#   $DIST/antspace_exporter-$VERSION.linux-$ARCH.tar.gz
# with LICENSE, README.md, the example inventory, the Prometheus and
# Alertmanager examples, the rule bundle, the dashboards and the systemd
# unit, plus $DIST/sha256sums.txt. Archives are reproducible for one commit
# (sorted entries, fixed owner and the commit's time).
#
# Environment: DIST (output directory, default dist; git-ignored), VERSION
# (default: the VERSION file), ARCHS (default "amd64 arm64"), GO (go).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(cat VERSION)}
ARCHS=${ARCHS:-amd64 arm64}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
BRANCH=$(git rev-parse --abbrev-ref HEAD 2>/dev/null || echo unknown)
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
BUILDDATE=$(date -u -d "@$EPOCH" +%Y%m%d-%H:%M:%S)
PKG=github.com/prometheus/common/version
LDFLAGS="-s -w -X $PKG.Version=$VERSION -X $PKG.Revision=$REVISION -X $PKG.Branch=$BRANCH -X $PKG.BuildUser=release -X $PKG.BuildDate=$BUILDDATE"

mkdir -p "$DIST"
stage=$(mktemp -d "${TMPDIR:-/tmp}/antspace-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT

archives=()
for arch in $ARCHS; do
  name="antspace_exporter-$VERSION.linux-$arch"
  dir="$stage/$name"
  mkdir -p "$dir/examples" "$dir/rules" "$dir/dashboards" "$dir/systemd"
  echo "release: building $name"
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath -ldflags "$LDFLAGS" -o "$dir/antspace_exporter" ./cmd/antspace_exporter
  cp LICENSE README.md "$dir/"
  cp targets.example.yml examples/prometheus.yml examples/alertmanager.yml "$dir/examples/"
  cp rules/antspace.rules.yml "$dir/rules/"
  cp dashboards/*.json "$dir/dashboards/"
  cp packaging/antspace_exporter.service packaging/antspace_exporter.default "$dir/systemd/"
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$EPOCH" \
    -C "$stage" -cf - "$name" | gzip -n -9 >"$DIST/$name.tar.gz"
  archives+=("$name.tar.gz")
done
(cd "$DIST" && sha256sum "${archives[@]}" >sha256sums.txt)
echo "release: $DIST/sha256sums.txt"
cat "$DIST/sha256sums.txt"
