#!/usr/bin/env bash
# Installs node dependencies when missing or older than the lockfile, applies patches/ (patch-package), and
# installs Debian chromium for browser tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=lib/apt.sh
source "$ROOT/scripts/lib/apt.sh"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` rather than `npm ci`: npm 11's ci rejects lockfiles that omit other platforms' optional
  # binaries (rollup, esbuild), which the same npm wrote; install honours the lock and repairs that.
  echo "[deps] installing node dependencies" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
fi
# npm install's postinstall applies patches/ too; this also patches an existing node_modules when a patch is newer
# than the marker of the last application (or npm reinstalled packages without running scripts since).
if [ ! -f node_modules/.patches-applied ] \
  || [ -n "$(find patches node_modules/.package-lock.json -newer node_modules/.patches-applied | head -1)" ]; then
  npx --no-install patch-package --error-on-fail >&2 && touch node_modules/.patches-applied
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "[deps] Debian chromium is needed for browser tests" >&2
  apt_install_waiting deps chromium
fi
