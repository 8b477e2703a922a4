#!/usr/bin/env bash
# Installs the pinned Go tools (tools/tool-versions.env) into .tools/bin with `go install`,
# building them from the Go module proxy, and generates the Kubernetes JSON schemas kubeconform
# needs from the OpenAPI documents pinned in the kubectl-validate module. Everything already
# present at its pinned version is reused, so later runs take well under a second and need no Go.
# Usage: bash tools/install-tools.sh [--go-only]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tool-versions.env
source tools/tool-versions.env
tools="$PWD/.tools"
mkdir -p "$tools/bin"

need_go() {
  command -v go >/dev/null 2>&1 && return 0
  cat >&2 <<'MSG'
install-tools: Go is needed to build the validation tools and is not installed. Install Go 1.22
or newer (your distribution's package if recent enough, or https://go.dev/doc/install), put `go`
on PATH, make sure the Go module proxy is reachable (GOPROXY), and run this again.
MSG
  exit 1
}

install() { # name module version
  local name=$1 module=$2 version=$3 stamp="$tools/bin/.$1.version"
  if [ -x "$tools/bin/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$module@$version" ]; then
    return 0
  fi
  need_go
  echo "install-tools: building $name $version (go install $module@$version)" >&2
  local started=$SECONDS
  # Static binaries, so they also run in CI images other than the one that built them.
  GOBIN="$tools/bin" CGO_ENABLED=0 GOFLAGS=-buildvcs=false go install "$module@$version"
  echo "$module@$version" >"$stamp"
  echo "install-tools: $name ready in $((SECONDS - started)) s" >&2
}

install kubeconform "$KUBECONFORM_MODULE" "$KUBECONFORM_VERSION"
install kubectl-validate "$KUBECTL_VALIDATE_MODULE" "$KUBECTL_VALIDATE_VERSION"
install sops "$SOPS_MODULE" "$SOPS_VERSION"
install age "$AGE_MODULE" "$AGE_VERSION"
install age-keygen "$AGE_KEYGEN_MODULE" "$AGE_VERSION"
install gitleaks "$GITLEAKS_MODULE" "$GITLEAKS_VERSION"
install amtool "$AMTOOL_MODULE" "$AMTOOL_VERSION"

# promtool: the Prometheus module carries a replace directive, so `go install` refuses it; the
# wrapper module tools/promtool pins it (as a tool dependency) and is rebuilt when it changes.
promtool_stamp=$(cat tools/promtool/go.mod tools/promtool/go.sum | sha256sum | cut -d' ' -f1)
if [ ! -x "$tools/bin/promtool" ] || [ "$(cat "$tools/bin/.promtool.stamp" 2>/dev/null)" != "$promtool_stamp" ]; then
  need_go
  prometheus=$(cd tools/promtool && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
  # Module v0.3XY.Z is Prometheus 3.XY.Z.
  release=$(echo "$prometheus" | sed -E 's/^v0\.3([0-9]{2})\.([0-9]+)$/3.\1.\2/; s/^3\.0/3./')
  echo "install-tools: building promtool $release from source (about 8 minutes and 3 GB of memory on a cold cache)" >&2
  started=$SECONDS
  (cd tools/promtool && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$release" \
    -o "$tools/bin/promtool" github.com/prometheus/prometheus/cmd/promtool)
  echo "$promtool_stamp" >"$tools/bin/.promtool.stamp"
  echo "install-tools: promtool ready in $((SECONDS - started)) s" >&2
fi

# The OpenAPI v3 documents kubectl-validate embeds, per Kubernetes minor, copied out of the
# pinned module so kubeconform's schemas come from exactly the same source.
openapi="$tools/openapi"
pinned="$KUBECTL_VALIDATE_MODULE@$KUBECTL_VALIDATE_VERSION"
if [ "$(cat "$openapi/.version" 2>/dev/null)" != "$pinned" ]; then
  need_go
  module_dir=$(go mod download -json "$pinned" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$openapi"
  cp -r "$module_dir/pkg/openapiclient/builtins" "$openapi"
  chmod -R u+w "$openapi"
  echo "$pinned" >"$openapi/.version"
fi
# CRDs of the bootstrap operators, from their Go module zips at the pinned versions.
crds="$tools/crd-manifests"
crd_pins="$FLUX_SOURCE_MODULE@$FLUX_SOURCE_VERSION $FLUX_KUSTOMIZE_MODULE@$FLUX_KUSTOMIZE_VERSION $ARGOCD_MODULE@$ARGOCD_VERSION"
if [ "$(cat "$crds/.version" 2>/dev/null)" != "$crd_pins" ]; then
  need_go
  rm -rf "$crds" && mkdir -p "$crds"
  fetch_crds() { # module version files...
    local module=$1 version=$2 zip
    shift 2
    # The zip is enough: some of these modules need a newer Go to build, not to be read.
    zip=$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",$/\1/p')
    for f in "$@"; do
      if command -v unzip >/dev/null 2>&1; then
        unzip -p "$zip" "$module@$version/$f" >"$crds/$(basename "$f")"
      else
        python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$zip" "$module@$version/$f" >"$crds/$(basename "$f")"
      fi
    done
  }
  fetch_crds "$FLUX_SOURCE_MODULE" "$FLUX_SOURCE_VERSION" $FLUX_SOURCE_CRDS
  fetch_crds "$FLUX_KUSTOMIZE_MODULE" "$FLUX_KUSTOMIZE_VERSION" $FLUX_KUSTOMIZE_CRDS
  fetch_crds "$ARGOCD_MODULE" "$ARGOCD_VERSION" $ARGOCD_CRDS
  echo "$crd_pins" >"$crds/.version"
fi

# `--go-only` stops here, for a CI job whose image has Go but no Node.
[ "${1:-}" = "--go-only" ] && exit 0
node tools/build.mjs generate-schemas
node dist/tools/generate-schemas.js "$openapi" "$tools/schemas" "$crds"
