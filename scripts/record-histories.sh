#!/usr/bin/env bash
# Records the histories tests/tests/replay.rs replays, written by a given punctual binary (an
# earlier release) against a fresh in-memory dev server:
#   scripts/record-histories.sh PATH/TO/OLD/punctual LABEL
# LABEL (e.g. the commit) goes into each file name. Writes tests/histories/KIND-LABEL.json for a
# billing run, its batch, a completed and a compensated payment saga, a schedule fire and its
# occurrence, a manual fire of a date rolled back onto an earlier fire, a per-fire billing started
# by hand with a `/repeat` period, a manual fire outside the `cn` calendar's data, two sagas
# that met a wrong sink URL and a wrong provider URL, and (binaries with the bulk mode; BULK=0
# skips it) a bulk billing run and its page,
# exported with target/debug/punctual (build it first). Needs nothing running; leaves
# nothing running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="$(realpath "$1")"; label="$2"
temporal="$(bash scripts/ensure-temporal.sh)"
work="$(mktemp -d)"; pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tport=$(port); pport=$(port); sport=$(port)
export TEMPORAL_ADDRESS="127.0.0.1:$tport" PUNCTUAL_TASK_QUEUE="record-$label"
export PUNCTUAL_DATABASE_URL="sqlite://$work/ledger.db" PUNCTUAL_PROVIDER_URL="http://127.0.0.1:$pport" PUNCTUAL_NOTIFY_URL="http://127.0.0.1:$sport"
sa=(); while IFS= read -r a; do sa+=(--search-attribute "$a"); done < <("$bin" search-attributes)
"$temporal" server start-dev --headless --ip 127.0.0.1 --port "$tport" --log-level error "${sa[@]}" >"$work/server.log" 2>&1 & pids+=($!)
for _ in $(seq 1 120); do "$temporal" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break; sleep 0.5; done
"$bin" sandbox-provider --listen "127.0.0.1:$pport" >"$work/provider.log" 2>&1 & pids+=($!)
"$bin" notify-sink --listen "127.0.0.1:$sport" >"$work/sink.log" 2>&1 & pids+=($!)
"$bin" seed --customers 30 >/dev/null
"$bin" worker >"$work/worker.log" 2>&1 & pids+=($!)

tz=Asia/Shanghai; date=2026-11-24
"$bin" billing-run --date "$date" --timezone "$tz" --wait >/dev/null
bulk_date=2026-11-25
if [[ "${BULK:-1}" != 0 ]]; then "$bin" billing-run --date "$bulk_date" --timezone "$tz" --bulk --wait >/dev/null; fi
cat >"$work/jobs.toml" <<TOML
[jobs.replay_sla]
workflow = "SlaCheckWorkflow"
timezone = "UTC"
at = "03:00"
calendar = "everyday"

[jobs.replay_back]
workflow = "SlaCheckWorkflow"
timezone = "Asia/Shanghai"
at = "09:00"
calendar = "cn"
roll = "preceding"
TOML
PUNCTUAL_CONFIG="$work/jobs.toml" "$bin" schedule apply >/dev/null
PUNCTUAL_CONFIG="$work/jobs.toml" "$bin" schedule trigger replay_sla >/dev/null
# A manual fire of a date a roll moved back onto an earlier fire (patch `manual-fire-looks-back`).
PUNCTUAL_CONFIG="$work/jobs.toml" "$bin" schedule trigger replay_back --business-date 2026-10-03 >/dev/null
# A manual fire of a date outside the `cn` calendar's data (patch `calendar-coverage-checked`:
# binaries before it planned it by the weekend alone, later ones refuse it).
PUNCTUAL_CONFIG="$work/jobs.toml" "$bin" schedule trigger replay_back --business-date 2025-12-30 >/dev/null
# Sagas that met a wrong sink URL (a receipt refused after the payment was recorded) and a wrong
# provider URL (a charge refused by a 404), each billed by a worker of its own queue (patch
# `compensate-known-outcomes`: binaries before it refunded and voided, later ones undo nothing).
for typo in sink provider; do
  queue="record-$label-$typo"
  if [[ $typo == sink ]]; then urls=(PUNCTUAL_NOTIFY_URL="http://127.0.0.1:$sport/typo"); else urls=(PUNCTUAL_PROVIDER_URL="http://127.0.0.1:$pport/typo"); fi
  env PUNCTUAL_TASK_QUEUE="$queue" "${urls[@]}" "$bin" worker >"$work/worker-$typo.log" 2>&1 & pids+=($!)
  typo_date=2026-11-2$([[ $typo == sink ]] && echo 7 || echo 8)
  PUNCTUAL_TASK_QUEUE="$queue" "$bin" billing-run --date "$typo_date" --timezone "$tz" --wait >/dev/null || true
done
# A per-fire billing started by hand with a `/repeat` period on a time shown once (patch
# `repeat-period-checked`: binaries before it billed it, later ones refuse it).
repeat_id=replay-fire-billing-repeat
"$temporal" workflow start --address "$TEMPORAL_ADDRESS" --type FireBillingWorkflow --task-queue "$PUNCTUAL_TASK_QUEUE" \
  --workflow-id "$repeat_id" --input '{"business_date":"2026-11-26","timezone":"Asia/Shanghai","period":"2026-11-26T10:00/repeat"}' >/dev/null
"$temporal" workflow result --address "$TEMPORAL_ADDRESS" --workflow-id "$repeat_id" >/dev/null 2>&1 || true

# Exported by the punctual being tested (reading histories does not depend on workflow code).
new="$PWD/target/debug/punctual"
show() { "$new" history export "$1"; }
first() { # first workflow id matching a query, once it is closed
  for _ in $(seq 1 120); do
    id=$("$temporal" workflow list --address "$TEMPORAL_ADDRESS" --query "$1 AND ExecutionStatus != 'Running'" -o json \
      | python3 -c 'import json,sys; l=json.load(sys.stdin) or []; print(l[0]["execution"]["workflowId"] if l else "")')
    [[ -n "$id" ]] && { echo "$id"; return; }
    sleep 1
  done
  echo "nothing matched: $1" >&2; exit 1
}
out=tests/histories
show "billing-run/$tz/$date" >"$out/billing-run-$label.json"
show "$(first "WorkflowType = 'BillingBatchWorkflow'")" >"$out/billing-batch-$label.json"
show "$(first "WorkflowType = 'PaymentSagaWorkflow' AND RunOutcome = 'completed'")" >"$out/payment-completed-$label.json"
show "$(first "WorkflowType = 'PaymentSagaWorkflow' AND RunOutcome = 'compensated'")" >"$out/payment-compensated-$label.json"
show "$(first "WorkflowType = 'ScheduledJobWorkflow' AND JobName = 'replay_sla'")" >"$out/fire-$label.json"
show "$(first "WorkflowType = 'JobOccurrenceWorkflow' AND JobName = 'replay_sla'")" >"$out/occurrence-$label.json"
show "replay_back/fire-manual-2026-10-03" >"$out/fire-rolled-back-$label.json"
show "$repeat_id" >"$out/fire-billing-repeat-$label.json"
show "replay_back/fire-manual-2025-12-30" >"$out/fire-uncovered-$label.json"
show "$(first "WorkflowType = 'PaymentSagaWorkflow' AND RunOutcome = 'failed' AND BusinessDate = '2026-11-27'")" >"$out/payment-receipt-refused-$label.json"
show "$(first "WorkflowType = 'PaymentSagaWorkflow' AND RunOutcome = 'failed' AND BusinessDate = '2026-11-28'")" >"$out/payment-charge-refused-$label.json"
if [[ "${BULK:-1}" != 0 ]]; then
  show "billing-run/$tz/$bulk_date" >"$out/billing-run-bulk-$label.json"
  show "$(first "WorkflowType = 'BillingBulkBatchWorkflow'")" >"$out/billing-bulk-batch-$label.json"
fi
ls -la "$out"
