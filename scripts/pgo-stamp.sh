#!/usr/bin/env bash
# Prints one hash naming what a profile-guided build is built from: the toolchain, PGO_LTO,
# PGO_STATIC, the commit, and every uncommitted change (tracked diffs and untracked files).
# build-pgo.sh stores it beside target/pgo/punctual; `make bench PGO=1` reuses that binary only
# when the hash of the tree as it is now is the same, instead of spending another 25-45 minutes
# rebuilding it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
{
  rustc -vV
  echo "PGO_LTO=${PGO_LTO:-}"
  echo "PGO_STATIC=${PGO_STATIC:-}"
  git rev-parse HEAD
  git diff HEAD
  git ls-files -o --exclude-standard -z | xargs -0r sha256sum
} | sha256sum | cut -d' ' -f1
