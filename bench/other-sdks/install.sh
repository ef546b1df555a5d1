#!/usr/bin/env bash
# Installs the other-SDK bench workers' dependencies: the Python SDK into a venv under
# .tools/python-sdk, the TypeScript SDK into typescript/node_modules. Each part is skipped when a
# stamp shows its pinned manifest is already installed, so `make bench` can call this every time.
# Installer chatter goes to stderr: stdout stays clean for callers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# Python: a venv rather than `pip --target`, so the launcher can exec one interpreter that
# already has the SDK on its path.
venv="$root/.tools/python-sdk/venv"
stamp="$venv/.punctual-requirements"
if ! cmp -s "$here/python/requirements.txt" "$stamp" 2>/dev/null; then
  echo "installing the Temporal Python SDK into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/python/requirements.txt" >&2
  cp "$here/python/requirements.txt" "$stamp"   # last: a failed install is retried next time
fi

# TypeScript: optional, since it needs node/npm; the core bridge's native binary ships inside
# the npm package, so nothing is downloaded at install or run time.
if command -v npm >/dev/null; then
  ts="$here/typescript"
  stamp="$ts/node_modules/.punctual-package.json"
  if ! cmp -s "$ts/package.json" "$stamp" 2>/dev/null; then
    echo "installing the Temporal TypeScript SDK into $ts/node_modules" >&2
    # `ci` follows the committed lock file exactly (transitive webpack/swc too) when there is one.
    if [[ -f "$ts/package-lock.json" ]]; then cmd=ci; else cmd=install; fi
    (cd "$ts" && npm "$cmd" --no-audit --no-fund --loglevel=error >&2)
    cp "$ts/package.json" "$stamp"
  fi
else
  echo "npm not found: skipping the TypeScript SDK worker" >&2
fi
