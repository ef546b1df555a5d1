#!/usr/bin/env bash
# Installs what tests/tests/clock_skew.rs preloads into a worker to move its clock: Debian's
# libfaketime (apt). Idempotent; prints the library's path. Fails loudly when apt cannot deliver:
# the clock-skew tests must not skip silently.
set -euo pipefail

# One apt-get at a time (apt's lock): the same lock as scripts/ensure-browser.sh.
exec 9>"${TMPDIR:-/tmp}/punctual-apt.lock"
flock 9

installed() { dpkg-query -W -f='${Status}' libfaketime 2>/dev/null | grep -q "install ok installed"; }
if ! installed; then
    echo "installing libfaketime (apt)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq libfaketime >&2 \
        || { apt-get update -qq >&2 && apt-get install -y -qq libfaketime >&2; } \
        || { echo "error: apt-get install libfaketime failed: cannot move a worker's clock" >&2; exit 1; }
fi
lib="$(dpkg-query -L libfaketime | grep '/libfaketime\.so\.1$' | head -1)"
[ -f "$lib" ] || { echo "error: libfaketime.so.1 is still missing after apt-get install libfaketime" >&2; exit 1; }
echo "$lib"
