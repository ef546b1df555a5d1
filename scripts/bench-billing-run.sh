#!/usr/bin/env bash
# A large billing run, timed and then counted at the outside world.
#
#   scripts/bench-billing-run.sh [CUSTOMERS_IN_ZONE] [MODE]      # defaults: 100000 bulk
#
# Starts everything `make run` starts, but in a fresh directory (file-backed dev server, SQLite
# ledger, sandbox provider and sink, one release worker), seeds enough demo customers for
# CUSTOMERS_IN_ZONE of them to be billed in Asia/Shanghai, runs `punctual billing-run --wait`
# (with --bulk unless MODE is per-customer), and prints: wall time, worker and server CPU and
# peak RSS, and the exactly-once check: per invoice, charges, refunds, receipts, payment rows
# and invoice status against what each customer's data says must happen — each exactly once.
# BENCH_PROVIDER_LATENCY_MS=N: the sandbox provider answers each call N ms late, like a real one.
# BENCH_KILL_AFTER=SECONDS: SIGKILL the worker that long into the run and start a fresh one
# (the run must still finish with every effect exactly once).
# PUNCTUAL_BIN=PATH: run that punctual binary (a `make pgo` build, say) instead of building
# target/release/punctual; every process of the run (worker, sandboxes, CLI) is that binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
in_zone="${1:-100000}"
mode="${2:-bulk}"
date="${BENCH_DATE:-2026-11-24}"
# Every 5th demo customer is in America/New_York: seed 5/4 as many.
customers=$(( (in_zone * 5 + 3) / 4 ))

temporal="$(bash scripts/ensure-temporal.sh)"
if [[ -n "${PUNCTUAL_BIN:-}" ]]; then
  [[ -x "$PUNCTUAL_BIN" ]] || { echo "bench-billing-run: PUNCTUAL_BIN=$PUNCTUAL_BIN is not an executable file" >&2; exit 2; }
  punctual="$(realpath "$PUNCTUAL_BIN")"
else
  cargo build --release --locked -p punctual-worker --bin punctual
  punctual="$PWD/target/release/punctual"
fi

dir="$(mktemp -d /tmp/punctual-billing-run.XXXXXX)"
port=$(( 17233 + RANDOM % 1000 ))
export TEMPORAL_ADDRESS="127.0.0.1:$port"
export PUNCTUAL_DATABASE_URL="sqlite://$dir/ledger.db"
export PUNCTUAL_PROVIDER_URL="http://127.0.0.1:$(( port + 1000 ))"
export PUNCTUAL_NOTIFY_URL="http://127.0.0.1:$(( port + 2000 ))"
export PUNCTUAL_TASK_QUEUE="billing-run-bench"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

sa_args=()
while IFS= read -r sa; do sa_args+=(--search-attribute "$sa"); done < <("$punctual" search-attributes)
"$temporal" server start-dev --ip 127.0.0.1 --port "$port" --ui-port $(( port + 3000 )) --headless \
  --db-filename "$dir/temporal.db" --log-level error "${sa_args[@]}" >"$dir/temporal.log" 2>&1 &
server=$!; pids+=("$server")
"$punctual" sandbox-provider --listen "${PUNCTUAL_PROVIDER_URL#http://}" >"$dir/provider.log" 2>&1 & pids+=($!)
"$punctual" notify-sink --listen "${PUNCTUAL_NOTIFY_URL#http://}" >"$dir/sink.log" 2>&1 & pids+=($!)
for _ in $(seq 1 120); do "$temporal" operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break; sleep 0.5; done
for _ in $(seq 1 40); do curl -fsS "$PUNCTUAL_PROVIDER_URL/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
if [[ -n "${BENCH_PROVIDER_LATENCY_MS:-}" ]]; then
  curl -fsS -X PUT -H 'content-type: application/json' -d "{\"latency_ms\": $BENCH_PROVIDER_LATENCY_MS}" "$PUNCTUAL_PROVIDER_URL/faults" >/dev/null
fi
"$punctual" seed --customers "$customers" >/dev/null
"$punctual" --log-format json worker >"$dir/worker.log" 2>&1 &
worker=$!; pids+=("$worker")

cpu_ms() { awk '{ printf "%d", ($14 + $15) * 1000 / 100 }' "/proc/$1/stat"; }
hwm_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
worker_cpu0=$(cpu_ms "$worker"); server_cpu0=$(cpu_ms "$server")
flag=(--bulk); [[ "$mode" == per-customer ]] && flag=()
echo "billing $in_zone customers of Asia/Shanghai ($mode), $date; data in $dir"
start=$(date +%s.%N)
"$punctual" billing-run --date "$date" --timezone Asia/Shanghai "${flag[@]}" --wait >"$dir/summary.txt" &
run=$!
killed_cpu=0
if [[ -n "${BENCH_KILL_AFTER:-}" ]]; then
  sleep "$BENCH_KILL_AFTER"
  killed_cpu=$(( $(cpu_ms "$worker") - worker_cpu0 )); worker_cpu0=0
  kill -KILL "$worker"; wait "$worker" 2>/dev/null || true
  echo "SIGKILLed the worker ${BENCH_KILL_AFTER} s into the run; starting another"
  "$punctual" --log-format json worker >"$dir/worker2.log" 2>&1 &
  worker=$!; pids+=("$worker")
fi
wait "$run"
end=$(date +%s.%N)
worker_cpu=$(( $(cpu_ms "$worker") - worker_cpu0 + killed_cpu )); server_cpu=$(( $(cpu_ms "$server") - server_cpu0 ))
cat "$dir/summary.txt"
python3 - "$dir" "$start" "$end" "$worker_cpu" "$server_cpu" "$(hwm_mb "$worker")" "$(hwm_mb "$server")" <<'PY'
import json, sqlite3, sys, urllib.request, os
from collections import Counter
d, start, end, wcpu, scpu, wrss, srss = sys.argv[1:]
wall = float(end) - float(start)
get = lambda url: json.load(urllib.request.urlopen(url, timeout=120))
prov, sink = os.environ["PUNCTUAL_PROVIDER_URL"], os.environ["PUNCTUAL_NOTIFY_URL"]
db = sqlite3.connect(f"{d}/ledger.db")
customers = db.execute("SELECT id, payment_method, status FROM customers WHERE timezone = 'Asia/Shanghai'").fetchall()
date = json.loads(open(f"{d}/summary.txt").read().split("\n", 1)[1])["business_date"].replace("-", "")
inv = lambda c: f"INV-{c}-{date}"
declined = {inv(c) for c, pm, _ in customers if pm == "pm_card_chargeDeclined"}
charged = {inv(c) for c, _, _ in customers} - declined
closed = {inv(c) for c, _, st in customers if st == "closed"} & charged
paid = charged - closed
made = get(f"{prov}/charges")
charges = Counter(c["invoice_id"] for c in made)
charge_of = {c["invoice_id"]: c["id"] for c in made}
refunds = Counter(r["charge_id"] for r in get(f"{prov}/refunds"))
receipts = Counter(r["invoice_id"] for r in get(f"{sink}/delivered"))
invoices = dict(db.execute("SELECT id, status FROM invoices"))
payments = Counter(i for (i,) in db.execute("SELECT invoice_id FROM payments"))
checks = {
    "one invoice row per customer": set(invoices) == {inv(c) for c, _, _ in customers},
    "each charged invoice charged exactly once": charges == Counter(charged),
    "each closed account's charge refunded exactly once": refunds == Counter(charge_of.get(i) for i in closed),
    "each paid invoice: exactly one receipt": receipts == Counter(paid),
    "each paid invoice: exactly one payment row": payments == Counter(paid),
    "paid invoices are 'paid', the rest 'void'": all(invoices[i] == ("paid" if i in paid else "void") for i in invoices),
}
n = len(customers)
print(f"\ncustomers {n}: wall {wall:.0f} s ({n / wall:.1f} customers/s)")
print(f"worker CPU {int(wcpu) / 1000:.0f} s ({int(wcpu) / n:.2f} ms/customer), peak RSS {wrss} MB")
print(f"server CPU {int(scpu) / 1000:.0f} s ({int(scpu) / n:.2f} ms/customer), peak RSS {srss} MB")
print(f"effects: {sum(charges.values())} charges, {sum(refunds.values())} refunds, {sum(receipts.values())} receipts, "
      f"{sum(payments.values())} payments; expected {len(charged)}, {len(closed)}, {len(paid)}, {len(paid)}")
for name, ok in checks.items():
    print(f"  {'ok  ' if ok else 'FAIL'} {name}")
sys.exit(0 if all(checks.values()) else 1)
PY
