#!/usr/bin/env bash
# Provides what the integration checks run (npm run test:server, npm run test:integration):
# etcd, PostgreSQL, pgBackRest, Redis, nginx (with its stream module) and Chromium from Debian's packages, a Java 17 runtime (tools/java.sh), the PKCS#12
# truststore writer cert-manager's encoder makes (tools/pkcs12-truststore), an S3 server for tests (tools/s3-server), and kube-apiserver for the oldest and the newest
# supported Kubernetes minor, each built from the Go modules pinned in tools/kube-apiserver/<minor>/
# (go.mod, go.sum) into .tools/bin/kube-apiserver-<minor>. A build runs only when its files
# change; afterwards this takes a second.
# Usage: bash tools/install-integration.sh [--go-only]   (--go-only: just build kube-apiserver)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$PWD/.tools/bin"
mkdir -p "$bin"

apt_install() { # packages...
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-integration: please install the Debian packages $* (or their equivalents) and run this again" >&2
    exit 1
  fi
  echo "install-integration: installing $* from Debian" >&2
  # Only the server binaries are needed: no cluster may start on the machine's default port.
  mkdir -p /etc/postgresql-common
  [ -f /etc/postgresql-common/createcluster.conf ] || echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if [ "${1:-}" != "--go-only" ]; then
  missing=()
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
  # Redis: the server binary ships in redis-tools (redis-check-rdb, which runs as the server when
  # called redis-server); the redis-server package would only add a service that starts at once.
  command -v redis-check-rdb >/dev/null 2>&1 || missing+=(redis-tools)
  # nginx runs the rendered TLS sidecar configs; Debian builds the stream module as a module.
  command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
  [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
  # pgBackRest archives and restores PostgreSQL in the backup test.
  command -v pgbackrest >/dev/null 2>&1 || missing+=(pgbackrest)
  # Chromium opens the home page and the audit site in the browser test (puppeteer-core drives it).
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
  bash tools/java.sh
fi

# Small test helpers in Go, each built when its files change: the truststore writer, and the
# in-memory S3 server over HTTPS that the PostgreSQL backup test archives to (gofakes3).
build_helper() { # name (a folder under tools/ with go.mod, go.sum, main.go)
  local name=$1 stamp
  stamp=$(cat "tools/$name/go.mod" "tools/$name/go.sum" "tools/$name/main.go" | sha256sum | cut -d' ' -f1)
  if [ ! -x "$bin/$name" ] || [ "$(cat "$bin/.$name.stamp" 2>/dev/null)" != "$stamp" ]; then
    (cd "tools/$name" && CGO_ENABLED=0 go build -trimpath -o "$bin/$name" .)
    echo "$stamp" >"$bin/.$name.stamp"
  fi
}
build_helper pkcs12-truststore
build_helper s3-server

build_kube_apiserver() { # module folder
  local module=$1 minor target stamp version started
  minor=$(basename "$module")
  target="$bin/kube-apiserver-$minor"
  stamp=$(cat "$module/go.mod" "$module/go.sum" "$module/main.go" | sha256sum | cut -d' ' -f1)
  if [ -x "$target" ] && [ "$(cat "$bin/.kube-apiserver-$minor.stamp" 2>/dev/null)" = "$stamp" ]; then
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    echo "install-integration: Go is needed to build kube-apiserver (Go 1.24 or newer, with the Go module proxy reachable)" >&2
    exit 1
  fi
  version=$(cd "$module" && go list -m -f '{{.Version}}' k8s.io/kubernetes)
  echo "install-integration: building kube-apiserver $version from source (about 7 minutes on a cold cache, 2 GB of memory)" >&2
  started=$SECONDS
  (cd "$module" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor#1.}" \
    -o "$target" .)
  echo "$stamp" >"$bin/.kube-apiserver-$minor.stamp"
  echo "install-integration: kube-apiserver $version ready in $((SECONDS - started)) s" >&2
}

for module in tools/kube-apiserver/*/; do
  build_kube_apiserver "${module%/}"
done
