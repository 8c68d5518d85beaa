#!/usr/bin/env bash
# Idempotent setup: a Python 3.11 virtual environment with the pinned stack, and Delta's jars from
# Maven Central in a local cache. A second run with nothing changed does no network work.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BRANDLAKE_VENV:-.venv}

pick_python() {
  for p in python3.11 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      command -v "$p"; return 0
    fi
  done
  echo "bootstrap: Python 3.11 is required (python3.11 or python3 at 3.11); found none on PATH" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  py=$(pick_python)
  echo "bootstrap: creating $VENV with $py"
  "$py" -m venv "$VENV"
fi

stamp="$VENV/.brandlake-installed"
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing pinned dependencies into $VENV (a few minutes the first time)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -c requirements.lock -e '.[dev]'
  echo "$want" > "$stamp"
fi

# Delta's jars are on Maven Central, not PyPI; fetch once into the cache, verify, and reuse.
"$VENV/bin/python" -m brandlake.jars ensure
