#!/usr/bin/env bash
# Runs uv at the version pinned in tools/tool-versions.env, installing it first (from PyPI, into
# .tools/uv/<version>) when missing. Python projects keep their environments in their own .venv,
# created from their uv.lock; uv's download cache is .cache/uv. Python itself is the machine's
# python3 (3.11 or newer): uv never downloads an interpreter here.
# Usage: bash tools/uv.sh <uv arguments>, e.g. bash tools/uv.sh run --locked --project checks/jupyterhub pytest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tool-versions.env
source "$root/tools/tool-versions.env"
dir="$root/.tools/uv/$UV_VERSION"
if [ ! -x "$dir/bin/uv" ]; then
  command -v python3 >/dev/null || { echo "uv.sh: python3 (3.11 or newer) is needed for the Python projects" >&2; exit 1; }
  mkdir -p "$root/.tools/uv"
  # Nx runs several Python tasks at once: one installs, the others wait for it.
  exec 9>"$root/.tools/uv/.install.lock"
  flock 9
  if [ ! -x "$dir/bin/uv" ]; then
    echo "uv.sh: installing uv $UV_VERSION into .tools/uv/$UV_VERSION" >&2
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  fi
  exec 9>&-
fi
export UV_CACHE_DIR="${UV_CACHE_DIR:-$root/.cache/uv}" UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1
exec "$dir/bin/uv" "$@"
