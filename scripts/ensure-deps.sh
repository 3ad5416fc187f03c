#!/usr/bin/env bash
# Installs node dependencies when missing or older than the lockfile; installs Debian chromium for browser tests.
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
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "[deps] Debian chromium is needed for browser tests" >&2
  apt_install_waiting deps chromium
fi
