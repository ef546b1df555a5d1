#!/usr/bin/env bash
# make run: a whole local billing system in one command.
#   1. installs the pinned Temporal CLI if needed (pip, into .tools/);
#   2. builds punctual in release mode;
#   3. starts `temporal server start-dev` (Web UI on :8233, state in .data/temporal.db) unless a
#      server already answers at TEMPORAL_ADDRESS, and registers punctual's search attributes;
#   4. starts the sandbox payment provider and notification sink on loopback;
#   5. seeds demo customers if the database is empty;
#   6. applies punctual.toml: one Temporal schedule per job (bill generation, reconciliation, SLA check);
#   7. runs `punctual worker` in the foreground. Ctrl-C stops the worker gracefully, then
#      whatever this script started.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PIP_ROOT_USER_ACTION=ignore
mkdir -p .data

temporal="$(bash scripts/ensure-temporal.sh)"
cargo build --release --locked -p punctual-worker --bin punctual
punctual="$PWD/target/release/punctual"

export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-localhost:7233}"
export PUNCTUAL_DATABASE_URL="${PUNCTUAL_DATABASE_URL:-sqlite://$PWD/.data/ledger.db}"
export PUNCTUAL_PROVIDER_URL="${PUNCTUAL_PROVIDER_URL:-http://127.0.0.1:8081}"
export PUNCTUAL_NOTIFY_URL="${PUNCTUAL_NOTIFY_URL:-http://127.0.0.1:8082}"
ui_port="${PUNCTUAL_UI_PORT:-8233}"

started=()
cleanup() {
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

healthy() { "$temporal" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; }

if healthy; then
  echo "Temporal server already answering at $TEMPORAL_ADDRESS: using it"
else
  host="${TEMPORAL_ADDRESS%:*}"; port="${TEMPORAL_ADDRESS##*:}"
  case "$host" in
    localhost|127.0.0.1|::1) ;;
    *) echo "no Temporal server answers at $TEMPORAL_ADDRESS and it is not local: start it, or unset TEMPORAL_ADDRESS" >&2; exit 1 ;;
  esac
  sa_args=()
  while IFS= read -r sa; do sa_args+=(--search-attribute "$sa"); done < <("$punctual" search-attributes)
  if [[ -n "${PUNCTUAL_PAYLOAD_KEY:-}" ]]; then
    # Encrypted payloads: the Web UI decrypts them through punctual's codec server (loopback).
    codec_url="http://127.0.0.1:${PUNCTUAL_CODEC_PORT:-8089}"
    PUNCTUAL_CODEC_ORIGINS="http://localhost:$ui_port,http://127.0.0.1:$ui_port" \
      setsid "$punctual" codec-server --listen "${codec_url#http://}" >.data/codec-server.log 2>&1 &
    started+=($!)
    sa_args+=(--ui-codec-endpoint "$codec_url")
    echo "started the codec server at $codec_url for the Web UI (log .data/codec-server.log)"
  fi
  # Schedules: the scheduler starts at most 30 workflows a second per namespace by default, and
  # its internal worker polls with few pollers, so 100 jobs due in one second lag ~15 s at p99.
  # A production cluster sets the same dynamic config (BENCHMARKS.md, "Schedule lag").
  sa_args+=(--dynamic-config-value worker.schedulerNamespaceStartWorkflowRPS=1000
            --dynamic-config-value 'worker.perNamespaceWorkerOptions={"MaxConcurrentWorkflowTaskPollers":16,"MaxConcurrentActivityTaskPollers":8}')
  echo "starting Temporal dev server on $TEMPORAL_ADDRESS (Web UI http://localhost:$ui_port, data .data/temporal.db, log .data/temporal.log)"
  # Own session: Ctrl-C reaches the worker first; the server is stopped after it has drained.
  setsid "$temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui_port" \
    --db-filename .data/temporal.db "${sa_args[@]}" >.data/temporal.log 2>&1 &
  started+=($!)
  for _ in $(seq 1 120); do healthy && break; sleep 0.5; done
  healthy || { echo "the dev server did not come up; see .data/temporal.log" >&2; exit 1; }
fi

# Idempotent: on a server started elsewhere, or an existing database, create what is missing.
while IFS='=' read -r name type; do
  "$temporal" operator search-attribute create --address "$TEMPORAL_ADDRESS" --name "$name" --type "$type" >/dev/null 2>&1 || true
done < <("$punctual" search-attributes)

start_service() { # name, url, subcommand
  local addr="${2#http://}"
  if curl -fsS "$2/healthz" >/dev/null 2>&1; then echo "$1 already answering at $2"; return; fi
  setsid "$punctual" "$3" --listen "$addr" >".data/$3.log" 2>&1 &
  started+=($!)
  echo "started $1 at $2 (log .data/$3.log)"
}
start_service "payment provider" "$PUNCTUAL_PROVIDER_URL" sandbox-provider
start_service "notification sink" "$PUNCTUAL_NOTIFY_URL" notify-sink

"$punctual" seed --customers "${PUNCTUAL_SEED_CUSTOMERS:-200}" --if-empty

# The jobs file as Temporal schedules (idempotent: creates, updates, deletes only punctual's own).
echo "applying ${PUNCTUAL_CONFIG:-punctual.toml} (punctual schedule apply)"
"$punctual" schedule apply

cat <<MSG

punctual is running. Web UI: http://localhost:$ui_port
Try:  $temporal workflow start --type BillingRunWorkflow --task-queue punctual \\
        --workflow-id billing-run/Asia/Shanghai/2026-11-24 \\
        --input '{"business_date":"2026-11-24","timezone":"Asia/Shanghai"}'
Ctrl-C stops the worker, then everything this script started.

MSG
# Not exec: the EXIT trap must stop the services after the worker has drained.
"$punctual" worker &
worker=$!
trap 'kill -TERM $worker 2>/dev/null || true' INT TERM
wait "$worker" || true
wait "$worker" 2>/dev/null || true
