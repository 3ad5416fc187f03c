#!/usr/bin/env bash
# The whole suite: `npm test`. Starts the project-local stores when needed (test databases are separate from
# the demo's), type-checks, lints, then runs vitest projects unit + integration, faults, then e2e.
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
# Two invocations: vitest runs every project's global setup up front, and the browser tier's setup starts the
# app with a live worker, which must not work the queues while the integration and fault tiers run.
echo "== vitest: unit, integration, faults"
npx vitest run --project unit --project integration --project faults
echo "== vitest: e2e (headless Chromium)"
npx vitest run --project e2e
