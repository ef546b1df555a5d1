#!/usr/bin/env bash
# make bench: the benchmarks of BENCHMARKS.md, on this machine, in one command.
#   1. installs the pinned Temporal CLI if needed and builds punctual + punctual-bench (release);
#   2. prints what the numbers depend on: date, commit, cores, CPU model, load average;
#   3. installs the other SDKs' bench workers (Python, TypeScript; bench/other-sdks/install.sh);
#   4. runs punctual-bench on its own in-memory dev server: the throughput scenario with every
#      worker side by side, alternating (the Rust SDK with its defaults, punctual as shipped,
#      Python, TypeScript), then schedule lag and recovery with punctual as shipped;
#      With PGO=1, the profile-guided build (scripts/build-pgo.sh) is built first and joins the
#      throughput table as `pgo`;
#   5. the large billing run on a file-backed dev server (scripts/bench-billing-run.sh):
#      BENCH_BILLING_CUSTOMERS (default 100000) customers in bulk mode, timed and every effect
#      counted once; BENCH_BILLING_CUSTOMERS=0 skips it.
# Extra arguments go to punctual-bench (`target/release/punctual-bench --help`), e.g.
#   make bench BENCH_ARGS="--scenarios throughput --rounds 3"
# Not part of `make test`: it asserts nothing (bar the billing run's effect count) and takes
# about 20 minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore

temporal="$(bash scripts/ensure-temporal.sh)"
cargo build --release --locked -p punctual-worker --bin punctual
cargo build --release --locked -p punctual-bench

bash bench/other-sdks/install.sh

# The variants, baseline first. `sdk-defaults` is punctual with every SDK default restored (gzip
# on the wire): the "plain Rust SDK worker". The last variant is the one lag and recovery use.
variants=(--variant "sdk-defaults=PUNCTUAL_GRPC_COMPRESSION=gzip PUNCTUAL_TOKIO_RUNTIME=multi-thread PUNCTUAL_WORKFLOW_POLLERS=5"
          --variant "python=PUNCTUAL_BIN=$PWD/bench/other-sdks/python-worker")
if [[ -d bench/other-sdks/typescript/node_modules ]]; then
  variants+=(--variant "typescript=PUNCTUAL_BIN=$PWD/bench/other-sdks/typescript-worker")
fi
# PGO=1: the profile-guided build (scripts/build-pgo.sh, ~45 min) beside punctual as shipped,
# which stays last. A target/pgo/punctual built from exactly this tree (scripts/pgo-stamp.sh) is
# reused.
if [[ "${PGO:-}" == 1 ]]; then
  if [[ -x target/pgo/punctual && "$(cat target/pgo/punctual.stamp 2>/dev/null)" == "$(bash scripts/pgo-stamp.sh)" ]]; then
    echo "make bench: reusing target/pgo/punctual, built from this very tree"
  else
    bash scripts/build-pgo.sh
  fi
  variants+=(--variant "pgo=PUNCTUAL_BIN=$PWD/target/pgo/punctual ${PUNCTUAL_BENCH_FLAGS:-}")
fi
variants+=(--variant "punctual=${PUNCTUAL_BENCH_FLAGS:-}")

mkdir -p target/bench
{
  echo "# make bench, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
  echo "- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
  echo "- uptime before: $(uptime)"
} | tee target/bench/latest.md

eval "extra=(${BENCH_ARGS:-})"
target/release/punctual-bench --temporal "$temporal" --punctual target/release/punctual --out target/bench \
  "${variants[@]}" "${extra[@]}" "$@" | tee -a target/bench/latest.md

if [[ "${BENCH_BILLING_CUSTOMERS:-100000}" != 0 ]]; then
  { echo; echo "## Billing run (scripts/bench-billing-run.sh ${BENCH_BILLING_CUSTOMERS:-100000} bulk)"; echo '```'; } | tee -a target/bench/latest.md
  bash scripts/bench-billing-run.sh "${BENCH_BILLING_CUSTOMERS:-100000}" bulk 2>/dev/null | sed -n '/^customers /,$p' | tee -a target/bench/latest.md
  echo '```' | tee -a target/bench/latest.md
fi

echo "- uptime after: $(uptime)" | tee -a target/bench/latest.md
echo "(also in target/bench/latest.md; logs in target/bench/)"
