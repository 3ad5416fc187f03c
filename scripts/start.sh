#!/usr/bin/env bash
# The whole product: `npm start`. Installs dependencies when needed, then hands over to scripts/start.ts.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/ensure-deps.sh
exec node --import tsx scripts/start.ts "$@"
