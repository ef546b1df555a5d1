#!/usr/bin/env bash
# make test: installs the pinned Temporal CLI if needed, builds the `punctual` binary the
# end-to-end tests spawn, then runs every test. Tests start their own dev server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore

temporal="$(bash scripts/ensure-temporal.sh)"
echo "temporal CLI: $temporal"
cargo build --locked -p punctual-worker --bin punctual
# One test binary at a time, tests inside it in parallel; each binary shares one dev server.
cargo test --locked --workspace -- --test-threads "${PUNCTUAL_TEST_THREADS:-4}"
