#!/usr/bin/env bash
# make test: installs the pinned Temporal CLI if needed, builds the tests and the `punctual` binary
# the end-to-end tests spawn, then runs every test. Tests start their own dev server.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore

temporal="$(bash scripts/ensure-temporal.sh)"
echo "temporal CLI: $temporal"
# Formatting first: it takes a second and names the files (rustfmt.toml holds the width).
cargo fmt --all --check || { echo "make test: the code is not formatted as rustfmt.toml says: run cargo fmt --all" >&2; exit 1; }
# The build scripts' own logic (the function order of `make pgo`), a second.
python3 -m unittest discover -s scripts -p 'test_*.py'
# No incremental caches: they are for editing, and here they were 1.8 GB of a clean build (CI's
# disk ran out once). Every test binary and the `punctual` binary they spawn, built once with the
# features the whole workspace unifies: a separate `cargo build -p punctual-worker` resolved
# fewer features and built the SDK and our crates a second time.
export CARGO_INCREMENTAL=0
cargo test --locked --workspace --no-run
# One test binary at a time, tests inside it in parallel; each binary shares one dev server.
cargo test --locked --workspace -- --test-threads "${PUNCTUAL_TEST_THREADS:-4}"
# The chaos runs (a few minutes each): real processes under a random fault plan, counting lost
# and duplicated effects, once with the job billing per customer and once in bulk (duplicates
# started by hand bill in the other mode). Each seed is printed; PUNCTUAL_CHAOS_SEED=N replays.
chaos=(--profile ci --temporal-bin "$temporal")
if [[ -n "${PUNCTUAL_CHAOS_SEED:-}" ]]; then chaos+=(--seed "$PUNCTUAL_CHAOS_SEED"); fi
target/debug/punctual chaos "${chaos[@]}" --billing per-customer
target/debug/punctual chaos "${chaos[@]}" --billing bulk
