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
install oauth2-proxy "$OAUTH2_PROXY_MODULE" "$OAUTH2_PROXY_VERSION"
install rclone "$RCLONE_MODULE" "$RCLONE_VERSION"
install statsd_exporter "$STATSD_EXPORTER_MODULE" "$STATSD_EXPORTER_VERSION"
install crane "$CRANE_MODULE" "$CRANE_VERSION"
install registry "$REGISTRY_MODULE" "$REGISTRY_VERSION"
install helm "$HELM_MODULE" "$HELM_VERSION"

# Modules whose go.mod carries a replace directive refuse `go install`: a wrapper module under
# tools/ repeats the replace and pins the program as a tool dependency. It is rebuilt when the
# wrapper's go.mod or go.sum changes.
wrapper_stamp() { cat "tools/$1/go.mod" "tools/$1/go.sum" $([ -f "tools/$1/main.go" ] && echo "tools/$1/main.go") | sha256sum | cut -d' ' -f1; }
wrapper_stale() { # name wrapper
  [ ! -x "$tools/bin/$1" ] || [ "$(cat "$tools/bin/.$1.stamp" 2>/dev/null)" != "$(wrapper_stamp "$2")" ]
}
build_wrapped() { # name wrapper package ldflags how-long
  need_go
  echo "install-tools: building $1 from source ($5 on a cold cache)" >&2
  local started=$SECONDS
  (cd "tools/$2" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w $4" -o "$tools/bin/$1" "$3")
  wrapper_stamp "$2" >"$tools/bin/.$1.stamp"
  echo "install-tools: $1 ready in $((SECONDS - started)) s" >&2
}

# promtool, at the Prometheus release the rendered image runs.
if wrapper_stale promtool promtool; then
  need_go
  prometheus=$(cd tools/promtool && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)
  # Module v0.3XY.Z is Prometheus 3.XY.Z.
  release=$(echo "$prometheus" | sed -E 's/^v0\.3([0-9]{2})\.([0-9]+)$/3.\1.\2/; s/^3\.0/3./')
  build_wrapped promtool promtool github.com/prometheus/prometheus/cmd/promtool \
    "-X github.com/prometheus/common/version.Version=$release" "about 8 minutes and 3 GB of memory"
fi

# tofu, for the bootstrap modules; `version.dev=no` makes it report the release, not "-dev".
if wrapper_stale tofu opentofu; then
  build_wrapped tofu opentofu github.com/opentofu/opentofu/cmd/tofu "-X github.com/opentofu/opentofu/version.dev=no" "about 3 minutes"
fi

# kubectl, for the review environment jobs (docs/review.md). k8s.io/kubectl publishes the
# command but no main package: the wrapper holds its entry point. Module v0.MM.P is kubectl 1.MM.P.
if wrapper_stale kubectl kubectl; then
  need_go
  kubectl_release=$(cd tools/kubectl && go list -m -f '{{.Version}}' k8s.io/kubectl | sed -E 's/^v0\./v1./')
  build_wrapped kubectl kubectl . \
    "-X k8s.io/client-go/pkg/version.gitVersion=$kubectl_release -X k8s.io/component-base/version.gitVersion=$kubectl_release" "about 2 minutes"
fi

# The log shipper's collector: the builder (ocb) generates a main package from
# tools/otelcol/builder.yaml and compiles it; rebuilt when the manifest or the builder changes.
install builder "$OTELCOL_BUILDER_MODULE" "$OTELCOL_BUILDER_VERSION"
otelcol_stamp=$( (cat tools/otelcol/builder.yaml; echo "$OTELCOL_BUILDER_VERSION") | sha256sum | cut -d' ' -f1)
if [ ! -x "$tools/bin/otelcol-logs" ] || [ "$(cat "$tools/bin/.otelcol-logs.stamp" 2>/dev/null)" != "$otelcol_stamp" ]; then
  need_go
  echo "install-tools: building the log shipper's collector with ocb (about 3 minutes on a cold cache)" >&2
  started=$SECONDS
  rm -rf "$tools/otelcol-build"
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false "$tools/bin/builder" --config tools/otelcol/builder.yaml --ldflags "-s -w" >"$tools/otelcol-build.log" 2>&1 ||
    { tail -n 30 "$tools/otelcol-build.log" >&2; exit 1; }
  mv "$tools/otelcol-build/otelcol-logs" "$tools/bin/otelcol-logs"
  rm -rf "$tools/otelcol-build"
  echo "$otelcol_stamp" >"$tools/bin/.otelcol-logs.stamp"
  echo "install-tools: otelcol-logs ready in $((SECONDS - started)) s" >&2
fi

# Reading files out of Go module zips: the zip is enough (some of these modules need a newer Go
# to build, not to be read).
module_zip() { # module version -> path of the module zip in the Go module cache
  GOFLAGS=-mod=mod go mod download -json "$1@$2" | sed -n 's/^[[:space:]]*"Zip": "\(.*\)",$/\1/p'
}
zip_list() { # zip
  if command -v unzip >/dev/null 2>&1; then unzip -Z1 "$1"; else
    python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1"; fi
}
zip_cat() { # zip entry
  if command -v unzip >/dev/null 2>&1; then unzip -p "$1" "$2"; else
    python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$1" "$2"; fi
}

# OpenAPI v3 documents per Kubernetes minor, which both schema layers judge against: the ones
# kubectl-validate embeds (up to its newest minor), copied out of the pinned module, and for newer
# minors the ones Kubernetes publishes in its own module (api/openapi-spec/v3/), at the patch
# releases pinned in KUBERNETES_OPENAPI. Those folders carry a .source file naming their origin;
# kubectl-validate reads them with --local-schemas (tools/validate/tools.ts).
openapi="$tools/openapi"
pinned="$KUBECTL_VALIDATE_MODULE@$KUBECTL_VALIDATE_VERSION $KUBERNETES_OPENAPI"
if [ "$(cat "$openapi/.version" 2>/dev/null)" != "$pinned" ]; then
  need_go
  module_dir=$(go mod download -json "$KUBECTL_VALIDATE_MODULE@$KUBECTL_VALIDATE_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  rm -rf "$openapi"
  cp -r "$module_dir/pkg/openapiclient/builtins" "$openapi"
  chmod -R u+w "$openapi"
  for pin in $KUBERNETES_OPENAPI; do
    minor=${pin%%=*} version=${pin#*=}
    zip=$(module_zip "$KUBERNETES_MODULE" "$version")
    prefix="$KUBERNETES_MODULE@$version/api/openapi-spec/v3/"
    rm -rf "${openapi:?}/$minor"
    # api__v1_openapi.json -> api/v1.json; apis__apps__v1_openapi.json -> apis/apps/v1.json
    zip_list "$zip" | sed -n "s|^$prefix\(apis\{0,1\}\)__\(.*\)_openapi\.json$|\1 \2|p" | while read -r kind path; do
      case "$kind/$path" in api/v1 | apis/*__*) ;; *) continue ;; esac
      target="$openapi/$minor/$kind/${path//__//}.json"
      mkdir -p "$(dirname "$target")"
      zip_cat "$zip" "$prefix${kind}__${path}_openapi.json" >"$target"
    done
    [ -f "$openapi/$minor/api/v1.json" ] || { echo "install-tools: no OpenAPI documents in $KUBERNETES_MODULE@$version" >&2; exit 1; }
    echo "$KUBERNETES_MODULE@$version" >"$openapi/$minor/.source"
  done
  echo "$pinned" >"$openapi/.version"
fi
# CRDs of the bootstrap operators, from their Go module zips at the pinned versions.
crds="$tools/crd-manifests"
# The stamp holds the file lists too: a CRD added at the same version is fetched on warm machines.
crd_pins="$FLUX_SOURCE_MODULE@$FLUX_SOURCE_VERSION $FLUX_SOURCE_CRDS $FLUX_KUSTOMIZE_MODULE@$FLUX_KUSTOMIZE_VERSION $FLUX_KUSTOMIZE_CRDS $ARGOCD_MODULE@$ARGOCD_VERSION $ARGOCD_CRDS $GATEWAY_API_MODULE@$GATEWAY_API_VERSION $GATEWAY_API_CRDS $CERT_MANAGER_MODULE@$CERT_MANAGER_VERSION $CERT_MANAGER_CRDS"
if [ "$(cat "$crds/.version" 2>/dev/null)" != "$crd_pins" ]; then
  need_go
  rm -rf "$crds" && mkdir -p "$crds"
  fetch_crds() { # module version files...
    local module=$1 version=$2 zip
    shift 2
    zip=$(module_zip "$module" "$version")
    for f in "$@"; do zip_cat "$zip" "$module@$version/$f" >"$crds/$(basename "$f")"; done
  }
  fetch_crds "$FLUX_SOURCE_MODULE" "$FLUX_SOURCE_VERSION" $FLUX_SOURCE_CRDS
  fetch_crds "$FLUX_KUSTOMIZE_MODULE" "$FLUX_KUSTOMIZE_VERSION" $FLUX_KUSTOMIZE_CRDS
  fetch_crds "$ARGOCD_MODULE" "$ARGOCD_VERSION" $ARGOCD_CRDS
  fetch_crds "$GATEWAY_API_MODULE" "$GATEWAY_API_VERSION" $GATEWAY_API_CRDS
  fetch_crds "$CERT_MANAGER_MODULE" "$CERT_MANAGER_VERSION" $CERT_MANAGER_CRDS
  echo "$crd_pins" >"$crds/.version"
fi

# The bootstrap charts' sources, from their Go module zips: .tools/charts/<key>/<version>/ holds
# the chart folder as the module has it (tools/validate/charts.ts stamps it as its release does).
charts="$tools/charts"
if [ "$(cat "$charts/.version" 2>/dev/null)" != "$CHART_SOURCES" ]; then
  need_go
  rm -rf "$charts" && mkdir -p "$charts"
  for source in $CHART_SOURCES; do
    IFS=: read -r key version pin folder <<<"$source"
    module=${pin%@*} module_version=${pin#*@}
    zip=$(module_zip "$module" "$module_version")
    prefix="$module@$module_version/$folder/"
    zip_list "$zip" | grep "^$prefix" | grep -v '/$' | while read -r entry; do
      target="$charts/$key/$version/${entry#"$prefix"}"
      mkdir -p "$(dirname "$target")"
      zip_cat "$zip" "$entry" >"$target"
    done
    [ -d "$charts/$key/$version" ] || { echo "install-tools: no chart at $folder in $pin" >&2; exit 1; }
  done
  echo "$CHART_SOURCES" >"$charts/.version"
fi

# `--go-only` stops here, for a CI job whose image has Go but no Node.
[ "${1:-}" = "--go-only" ] && exit 0
node tools/build.mjs generate-schemas
node dist/tools/generate-schemas.js "$openapi" "$tools/schemas" "$crds"
