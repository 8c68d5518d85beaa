#!/usr/bin/env bash
# Build dist/brandlake-<version>.zip for `spark-submit --py-files` and check that the config loads
# from inside it. Deterministic: rebuilding an unchanged tree leaves the zip byte-for-byte the same.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BRANDLAKE_VENV:-.venv}
exec "$VENV/bin/python" -m brandlake.packaging --check "$@"
