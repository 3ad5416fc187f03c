#!/usr/bin/env bash
# The whole suite: `npm test`. Starts the project-local stores when needed (test databases are separate from
# the demo's), type-checks, lints, then runs vitest projects unit + integration, faults, e2e (global setup migrates).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/ensure-deps.sh --browser
if [ -z "${TEST_DATABASE_URL:-}" ] || [ -z "${TEST_CLICKHOUSE_URL:-}" ]; then
  bash scripts/stores.sh up >/dev/null
fi
echo "== check (svelte-check + tsc)"
npm run --silent check
echo "== lint"
npm run --silent lint
echo "== vitest"
npx vitest run "$@"
