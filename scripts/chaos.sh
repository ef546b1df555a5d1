#!/usr/bin/env bash
# make chaos: one bounded run of the whole system under random faults (workers killed, the server
# restarted, provider and sink failing, the ledger locked, duplicate triggers) that counts lost and
# duplicated effects and exits non-zero if there is any. Sets up what it needs like `make test`.
#
#   make chaos                    # --profile ci: about three minutes
#   make chaos PROFILE=soak       # about half an hour
#   make chaos SEED=1234          # replay the fault plan a run printed
#   make chaos BILLING=bulk       # the job bills in bulk (default: per-customer)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore

temporal="$(bash scripts/ensure-temporal.sh)"
cargo build --locked -p punctual-worker --bin punctual
args=(chaos --profile "${PROFILE:-ci}" --temporal-bin "$temporal")
if [[ -n "${SEED:-}" ]]; then args+=(--seed "$SEED"); fi
if [[ -n "${BILLING:-}" ]]; then args+=(--billing "$BILLING"); fi
exec target/debug/punctual "${args[@]}"
