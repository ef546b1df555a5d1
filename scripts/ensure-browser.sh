#!/usr/bin/env bash
# Installs what tests/tests/web_ui.rs drives: Debian's chromium (apt) and playwright-core (npm,
# pinned in tests/ui/package-lock.json, into tests/ui/node_modules). Idempotent: a second run
# installs nothing. Never downloads a browser of Playwright's own (that fails on this network).
# Fails loudly when apt or npm cannot deliver: the Web UI test must not skip silently.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# One install at a time: the Web UI tests run in parallel and each calls this script (and the
# clock-skew tests call scripts/ensure-faketime.sh, under the same lock), and two
# apt-gets at once fail on apt's lock (seen on a fresh machine: one test failed, one installed).
exec 9>"${TMPDIR:-/tmp}/punctual-apt.lock"
flock 9

if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || { echo "error: apt-get update failed: cannot install chromium" >&2; exit 1; }
    apt-get install -y -qq chromium >&2 || { echo "error: apt-get install chromium failed" >&2; exit 1; }
fi
[ -x /usr/bin/chromium ] || { echo "error: /usr/bin/chromium is still missing after apt-get install" >&2; exit 1; }

if [ ! -f tests/ui/node_modules/playwright-core/package.json ]; then
    echo "installing playwright-core (npm ci in tests/ui)" >&2
    # Playwright must not fetch browsers of its own: we drive Debian's chromium.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/ui --no-audit --no-fund >&2 \
        || { echo "error: npm ci in tests/ui failed: cannot install playwright-core" >&2; exit 1; }
fi
echo /usr/bin/chromium
