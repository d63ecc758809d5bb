#!/usr/bin/env bash
# Builds the flagd daemon (github.com/open-feature/flagd/flagd, the version in go.mod) into $1,
# from the Go module proxy, with the checksums in go.sum. Run by `make bench` once.
#
# One dependency is substituted, and only in the build folder: flagd's Kubernetes sync imports the
# OpenFeature operator's CRD types as github.com/open-feature/open-feature-operator/api v0.2.47,
# which the proxy here refuses. The same types are served as .../apis v0.2.45 (the module's
# earlier path), so they are copied to the path flagd imports, without the operator's admission
# webhook file (it needs an older controller-runtime, and flagd never calls it). The benchmark
# reads flags from a file; the Kubernetes sync is compiled in but never runs.
set -euo pipefail
mkdir -p "$(dirname "$1")"
out=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$src/go.mod" "$src/go.sum" "$work/"
cd "$work"
export GOFLAGS=-mod=readonly CGO_ENABLED=0
mkdir -p operator-api
printf 'module github.com/open-feature/open-feature-operator/api\n\ngo 1.23.0\n' >operator-api/go.mod
go mod download github.com/open-feature/open-feature-operator/apis
types=$(go list -m -f '{{.Dir}}' github.com/open-feature/open-feature-operator/apis)/core/v1beta1
mkdir -p operator-api/core/v1beta1
for f in "$types"/*.go; do
  case "$f" in *_test.go | */featureflag_webhook.go) continue ;; esac
  cp "$f" operator-api/core/v1beta1/
done
version=$(go list -m -f '{{.Version}}' github.com/open-feature/flagd/flagd)
go build -trimpath -ldflags "-X main.version=$version" -o "$out" github.com/open-feature/flagd/flagd
"$out" version 2>/dev/null | tail -1
