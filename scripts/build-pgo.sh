#!/usr/bin/env bash
# make pgo: a profile-guided (PGO) release build of punctual, trained on punctual's own work.
# Measured in BENCHMARKS.md ("Profile-guided optimisation"): less worker CPU and less RSS than
# the plain release build, same source. About 45 minutes on 2 cores (two full release builds).
#   1. installs llvm-tools with rustup if missing: the llvm-profdata of rustc's own LLVM;
#   2. an instrumented release build into target/pgo-gen (its own target dir: RUSTFLAGS differ,
#      so the normal target/release stays as it is);
#   3. training, with the instrumented binary: the BenchWorkflow throughput load (punctual-bench),
#      then the two chaos runs (billing per customer and in bulk, sagas, schedules, worker kills),
#      so billing and schedule code is profiled as run, not left to be laid out as cold (the
#      harness stops its workers with SIGTERM at the end: a profile is written only at exit).
#      Each process writes its own profile, and those that ran a Temporal worker are told apart;
#   4. merges the counts into target/pgo/punctual.profdata;
#   5. the profile-guided build into target/pgo-use, then its worker crate linked again with the
#      functions that ran in training placed together, those a worker ran first, grouped by
#      which workers ran them (target/pgo/punctual.order, from scripts/pgo-symbol-order.py,
#      which says why and what it measured; CPU within the spread);
#   6. that binary must pass a chaos run itself (every bill exactly once) before it is copied to
#      target/pgo/punctual, with target/pgo/punctual.stamp naming the tree it was built from
#      (scripts/pgo-stamp.sh), so `make bench PGO=1` can reuse it.
# PGO_LTO=fat adds fat LTO and one codegen unit to the final build (another ~25 minutes).
# PGO_STATIC=1 links the final binary statically (glibc inside, still position-independent):
# ~1.3 MB less RSS, but not less memory on a host, and glibc's name-service modules other than
# files and dns are loaded from the host's glibc at run time (BENCHMARKS.md, "Static glibc").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore

# Checked before 45 minutes of building: a misspelt value must not quietly mean "no LTO".
case "${PGO_LTO:-}" in
  "" | fat) ;;
  *) echo "make pgo: PGO_LTO='${PGO_LTO}' is not a value it knows; use PGO_LTO=fat or leave it unset" >&2; exit 2 ;;
esac
case "${PGO_STATIC:-}" in
  "" | 1) ;;
  *) echo "make pgo: PGO_STATIC='${PGO_STATIC}' is not a value it knows; use PGO_STATIC=1 or leave it unset" >&2; exit 2 ;;
esac

temporal="$(bash scripts/ensure-temporal.sh)"
sysroot="$(rustc --print sysroot)"
profdata="$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata"
if [[ ! -x "$profdata" ]]; then
  rustup component add llvm-tools
fi

out="$PWD/target/pgo"
# What this build is built from, taken now: the tree may change during the 25-45 minutes.
stamp="$(bash scripts/pgo-stamp.sh)"
# No binary from an earlier run is left to be mistaken for this one if a step fails.
rm -rf "$out/raw" "$out/punctual" "$out/punctual.stamp" "$out/punctual.order" "$out/worker.profdata" && mkdir -p "$out/raw"
echo "== instrumented build (target/pgo-gen)"
RUSTFLAGS="-Cprofile-generate=$out/raw" CARGO_TARGET_DIR=target/pgo-gen \
  cargo build --release --locked -p punctual-worker --bin punctual
cargo build --release --locked -p punctual-bench
instrumented=target/pgo-gen/release/punctual

echo "== training: BenchWorkflow throughput"
# One profile per process (%p), so the worker processes' counts can be told from the others'.
export LLVM_PROFILE_FILE="$out/raw/run-%p.profraw"
target/release/punctual-bench --temporal "$temporal" --punctual "$instrumented" --out "$out/train" \
  --scenarios throughput --variant "train=" --rounds 1
for billing in per-customer bulk; do
  echo "== training: chaos, billing $billing"
  "$instrumented" chaos --profile ci --billing "$billing" --temporal-bin "$temporal"
done
unset LLVM_PROFILE_FILE
# A process ran a Temporal worker when the SDK's `call_run_worker` has a count in its profile.
workers=()
for raw in "$out"/raw/run-*.profraw; do
  if "$profdata" show --counts --function=call_run_worker "$raw" | awk '
      /worker_lifecycle15call_run_worker/ { want = 1; next }
      want && /Block counts/ { if ($0 ~ /[1-9]/) ran = 1; want = 0 }
      END { exit !ran }'; then
    workers+=("$raw")
  fi
done
if [[ ${#workers[@]} -eq 0 ]]; then
  echo "make pgo: no worker process left a profile in training (a worker writes it when it exits)" >&2
  exit 1
fi
echo "training: ${#workers[@]} of $(find "$out/raw" -name 'run-*.profraw' | wc -l) processes profiled ran a worker"

"$profdata" merge -o "$out/punctual.profdata" "$out/raw"
echo "== profile-guided build (target/pgo-use), profile $out/punctual.profdata"
lto=()
if [[ "${PGO_LTO:-}" == fat ]]; then
  lto=(CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1)
fi
use_profile=(env "${lto[@]}" RUSTFLAGS="-Cprofile-use=$out/punctual.profdata" CARGO_TARGET_DIR=target/pgo-use)
"${use_profile[@]}" cargo build --release --locked -p punctual-worker --bin punctual

echo "== function order from the profile (target/pgo/punctual.order), and the final link"
"$profdata" show --all-functions --counts "$out/punctual.profdata" > "$out/profile.txt"
"$(dirname "$profdata")/llvm-nm" -S --defined-only target/pgo-use/release/punctual > "$out/symbols.txt"
# Each worker's profile on its own: the order keeps together the functions the same workers ran.
worker_dumps=()
for raw in "${workers[@]}"; do
  worker_dumps+=("$out/worker-$(basename "$raw" .profraw).txt")
  "$profdata" show --all-functions --counts "$raw" > "${worker_dumps[-1]}"
done
python3 scripts/pgo-symbol-order.py "$out/profile.txt" "$out/symbols.txt" "$out/punctual.order" "${worker_dumps[@]}"
rm "$out/profile.txt" "$out/symbols.txt" "${worker_dumps[@]}"
# Only the worker crate is built again (its build script adds the order to the link). With
# PGO_STATIC=1 only this last crate gets crt-static, as rustc does for its own prebuilt std: a
# RUSTFLAGS setting would reach the proc-macro crates too, which cannot be linked statically.
static_link=()
if [[ "${PGO_STATIC:-}" == 1 ]]; then
  static_link=(-- -C target-feature=+crt-static)
fi
"${use_profile[@]}" PUNCTUAL_SYMBOL_ORDER="$out/punctual.order" \
  cargo rustc --release --locked -p punctual-worker --bin punctual "${static_link[@]}"
# The linker skips names it does not find without a word, so check that the order took: the
# hottest function must be the first of the binary's code.
first_listed="$(head -1 "$out/punctual.order")"
first_linked="$("$(dirname "$profdata")/llvm-nm" -n --defined-only target/pgo-use/release/punctual | awk '$2 ~ /^[tT]$/ && !found { print $3; found = 1 }')"
if [[ "$first_linked" != "$first_listed" ]]; then
  echo "make pgo: the function order was not applied: the binary's code starts with $first_linked, not $first_listed" >&2
  exit 1
fi

# A static link must have taken (no dynamic loader named), and kept address-space randomisation.
if [[ "${PGO_STATIC:-}" == 1 ]]; then
  headers="$(readelf -lhW target/pgo-use/release/punctual)"
  if grep -q 'Requesting program interpreter' <<<"$headers" || ! grep -q 'Type:.*DYN' <<<"$headers"; then
    echo "make pgo: PGO_STATIC=1, but target/pgo-use/release/punctual is not a static position-independent executable" >&2
    exit 1
  fi
fi

echo "== the profile-guided binary under faults"
target/pgo-use/release/punctual chaos --profile ci --billing per-customer --temporal-bin "$temporal"
install -m 0755 target/pgo-use/release/punctual "$out/punctual"
echo "$stamp" > "$out/punctual.stamp"
echo "done: $out/punctual (commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo ', with uncommitted changes'))"
