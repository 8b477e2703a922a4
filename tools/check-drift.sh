#!/usr/bin/env bash
# Re-renders every cluster without the Nx cache and fails if dist-manifests/ differs from what
# is committed: the committed tree is what the GitOps agent applies, so it must be the render.
set -euo pipefail
cd "$(dirname "$0")/.."
npx nx run-many -t synth --skip-nx-cache --outputStyle=static >/tmp/ml-platform-drift-synth.log 2>&1 || {
  cat /tmp/ml-platform-drift-synth.log
  echo "drift check: the render failed" >&2
  exit 1
}
changed=$(git status --porcelain --untracked-files=all -- dist-manifests .gitlab)
if [ -n "$changed" ]; then
  echo "drift check: dist-manifests/ or .gitlab/ differs from the render of the committed sources:" >&2
  echo "$changed" | head -n 40 >&2
  echo "Run 'npm run synth' and commit dist-manifests/ and .gitlab/ together with the change that caused it." >&2
  exit 1
fi
echo "drift check: dist-manifests/ matches the render of every cluster"
